-- wrk script: POST /api/auth/login with the demo agent's credentials (from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("LOGIN_EMAIL"),
                         os.getenv("LOGIN_PASSWORD"))
