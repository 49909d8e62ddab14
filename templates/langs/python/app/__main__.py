"""`python3 -m app`: runs the service and exits with its status."""
import sys

from .main import main

sys.exit(main())
