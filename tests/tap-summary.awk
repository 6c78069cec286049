# Summarize KTAP output of several suites: a suite starts at "KTAP version" (or TAP), named by the
# "# suite: NAME" line before it, and must report as many top-level results as its plan says;
# missing and skipped results count as failures.  Prints one line per suite and
# "N passed, N failed" last.
# Exit status: 1 when anything failed or no suite was seen.

function close_suite() {
	if (!insuite)
		return
	missing = plan - (ok + notok + skip)
	if (missing < 0 || plan < 0)
		missing = 0
	if (plan < 0 && ok + notok + skip == 0)
		missing = 1	# no plan, no results: the suite died before it started
	printf "  %-28s %4d passed %4d failed %4d skipped%s\n", name, ok, notok + missing + skip, skip,
	       missing ? sprintf(" (%d missing of plan %d)", missing, plan) : ""
	tpass += ok
	# make check provides every prerequisite (fault injection, the second device, hot-unplug):
	# a skipped test there means the setup broke, so it fails rather than quietly not testing.
	tfail += notok + missing + skip
	insuite = 0
}

BEGIN { pending = "unnamed" }
/^# suite: / { close_suite(); pending = $3; next }
/^K?TAP version/ {
	close_suite()
	insuite = 1; suites++; name = pending; pending = "unnamed"
	plan = -1; ok = notok = skip = 0
	next
}
insuite && /^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan = $0 + 0; next }
insuite && /^not ok / { notok++; next }
insuite && /^ok .*# *[Ss][Kk][Ii][Pp]/ { skip++; next }
insuite && /^ok / { ok++; next }
# A suite whose runner reports it broke off (timeout, crash) fails even with results.
/^# suite-error: / { tfail++; printf "  %-28s ERROR: %s\n", $3, substr($0, index($0, $4)) }
END {
	close_suite()
	if (!suites)
		tfail++
	printf "%d passed, %d failed\n", tpass, tfail
	exit tfail ? 1 : 0
}
