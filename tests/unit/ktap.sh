# KTAP results for the shell test suites (sourced): t NAME CMD... is one result, ok when CMD
# succeeds, else "not ok" with the last lines of its output; $failed is the exit status.
n=0
failed=0

t() {
	local name=$1 out
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		failed=1
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
	fi
}
