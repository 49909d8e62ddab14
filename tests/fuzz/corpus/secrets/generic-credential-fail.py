# expect: secrets.generic-credential:7
# expect: secrets.generic-credential:8
# expect: secrets.generic-credential:10
import os

DATABASE = {
    "password": "q7Lr9vT2xW4mN8pK3zB6",
    "api_key": 'Jf83hQ0zPl2Wk9Vb5Nx7Rt1Y',
}
client_secret = b"7Yw2Kp9Lm4Qx8Rz3Vb6Nt1Hc"
username = "svc-payments"
