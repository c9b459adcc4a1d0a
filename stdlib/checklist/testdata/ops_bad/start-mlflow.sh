#!/bin/sh
exec mlflow server --host 0.0.0.0
