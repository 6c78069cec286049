# Two builds of vitrt compared (sourced): same ARGS... succeeds when `vitrt ARGS` prints the
# same bytes from $PLAIN, which makes the expected output, and from $OTHER ($OTHER_NAME in
# messages), and $OTHER succeeds.
same() {
	local want got
	want=$("$PLAIN" "$@" 2>/dev/null) || { echo "plain vitrt $* failed"; return 1; }
	got=$("$OTHER" "$@") || { echo "$OTHER_NAME vitrt exited with status $?"; return 1; }
	[ -n "$want" ] && [ "$got" = "$want" ] || { echo "output differs"; return 1; }
}
