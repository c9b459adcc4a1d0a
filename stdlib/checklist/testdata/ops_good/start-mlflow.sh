#!/bin/sh
exec mlflow server --app-name basic-auth --host 127.0.0.1 --gunicorn-opts "--access-logfile -"
