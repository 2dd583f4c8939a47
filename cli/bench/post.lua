-- wrk script: POST $BODY as JSON to the URL given on the command line.
wrk.method = "POST"
wrk.body = os.getenv("BODY") or "[]"
wrk.headers["Content-Type"] = "application/json"
