#!/bin/sh
# In the VM: one driver selftest binary (KTAP from the kselftest harness), the one this
# script's name <NN>-<binary>.sh names.
name=${0##*/}
name=${name%.sh}
exec "/bin/${name#*-}"
