#!/bin/sh
# Entrypoint of restoreproof-testbed/base: the command as given (images built FROM it set their own).
exec "$@"
