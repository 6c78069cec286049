#!/bin/sh
# In the VM: the driver selftests (KTAP from the kselftest harness).
exec /bin/vitsa_test
