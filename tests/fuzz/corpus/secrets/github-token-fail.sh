#!/bin/sh

export AWS_ACCESS_KEY_ID=********************

export GITHUB_PAT=ghp_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ

echo ********
# The lines above are Trivy's deploy.sh test fixture (Trivy's golden
# report flags line 3 and 7 with its own rules); the token is its dummy.
# expect: secrets.github-token:5
# expect: secrets.github-token:13
# expect: secrets.github-token:14
curl -H "Authorization: token gho_DNxril3RavGD5MfvJ7NScUykT8C8UBkkpdhi" https://api.github.com/user
GH_FINE_GRAINED=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
