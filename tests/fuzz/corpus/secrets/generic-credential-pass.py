# Placeholders, references, names and values that only look random.
import os

password = os.environ["DB_PASSWORD"]
api_key = os.getenv("API_KEY")
token = settings.GITHUB_APP_INSTALLATION_TOKEN
secret = "${SECRET_FROM_VAULT}"
secret_key = "$DJANGO_SECRET_KEY"
API_TOKEN = "<your-api-token-goes-here>"
db_password = "changeme"
admin_password = "xxxxxxxxxxxxxxxxxxxx"
pin_password = "1111111111111111"
request_token = "123e4567-e89b-12d3-a456-426614174000"
token_digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
image_token = "data:image/png;base64,iVBORw0KGgo="
secret_name = "payments-database-credentials"
token_url = "https://oauth2.googleapis.com/token"
password_file = "/run/secrets/db_password"
short_secret = "abc123"
low = "aaaaaaaabbbbbbbbcccc"
credentials_provider = CredentialsProviderChainFactory
if password == "Hq7Lr9vT2xW4mN8pK3zB":
    pass
