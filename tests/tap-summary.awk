# Summarize the KTAP of several suites (make check's logs, concatenated) and decide.
#
# A suite starts at "# suite: NAME", or at a "TAP version" (or "KTAP version") line that does
# not belong to the current suite ("unnamed"), or at a plan or result seen outside any suite.
# A suite passes only when it has
#   - its version line before any plan or result, and one plan 1..N with N > 0,
#   - exactly N top-level results, numbered 1..N (a result without a number takes the next),
#     each number once, none skipped and none "not ok",
#   - no "Bail out!",
#   - when its runner recorded its exit status ("# suite-exit: NAME STATUS", after its output),
#     status 0 (a non-zero status without a failing result is one failure).
# Each breach counts as (at least) one failed test of the suite, so a suite cannot pass by
# dying early, printing nothing, or printing too much.  "# suite-error: NAME WHY" is a failure
# of its own, as is an exit status for a suite other than the current one.
# Prints one line per suite and "N passed, N failed" last; exits 1 when anything failed or no
# suite was seen at all (an empty log).

function open_suite(n) {
	close_suite()
	insuite = 1; suites++; name = n
	header = 0; plan = -1; plans = 0; bail = 0; results = 0; last = 0; rc = 0; errors = 0
	split("", cnt); split("", verdict)
}

function close_suite(    n, pass, fail, distinct, extra, dup, missing, why) {
	if (!insuite)
		return
	insuite = 0
	pass = fail = distinct = extra = dup = 0
	why = ""
	for (n in cnt) {
		if (plan < 0 || n + 0 < 1 || n + 0 > plan) {
			extra += cnt[n]
			if (plan < 0 && verdict[n] == "ok")	# no plan: still count what they say
				pass++
			else if (plan < 0)
				fail++
			continue
		}
		distinct++
		dup += cnt[n] - 1
		if (verdict[n] == "ok")
			pass++
		else
			fail++
	}
	if (!header) {
		fail++
		why = why "; no TAP version line"
	}
	if (plan < 0) {
		fail++
		why = why "; no plan"
		extra = 0
	} else if (plan == 0) {
		fail++
		why = why "; empty plan 1..0"
	}
	if (plans > 1) {
		fail++
		why = why sprintf("; %d plans", plans)
	}
	missing = plan > 0 ? plan - distinct : 0
	if (missing) {
		fail += missing
		why = why sprintf("; %d missing of plan %d", missing, plan)
	}
	if (extra) {
		fail += extra
		why = why sprintf("; %d beyond the plan", extra)
	}
	if (dup) {
		fail += dup
		why = why sprintf("; %d duplicate numbers", dup)
	}
	if (bail) {
		fail++
		why = why "; bailed out"
	}
	if (rc && !fail && !errors) {
		fail++
		why = why sprintf("; exit status %d without a failing result", rc)
	}
	printf "  %-28s %4d passed %4d failed%s\n", name, pass, fail,
	       why == "" ? "" : " (" substr(why, 3) ")"
	tpass += pass
	tfail += fail
}

# One result: NUM is its number, or "" for the next one.
function result(num, v) {
	if (!insuite)
		open_suite("unnamed")
	if (num == "")
		num = last + 1
	last = num + 0
	results++
	if (!((num + 0) in cnt))
		verdict[num + 0] = v
	cnt[num + 0]++
}

/^# suite: / { open_suite($3); next }
/^K?TAP version/ {
	if (!insuite || header || plans || results)
		open_suite("unnamed")
	header = 1
	next
}
/^1\.\.[0-9]+/ {
	if (!insuite)
		open_suite("unnamed")
	sub(/^1\.\./, "")
	plan = $0 + 0
	plans++
	next
}
/^not ok( |$)/ { result($3 ~ /^[0-9]+$/ ? $3 : "", "not ok"); next }
/^ok( |$)/ {
	# make check provides every prerequisite (fault injection, the second device,
	# hot-unplug): a skipped test means the setup broke, so it fails.
	result($2 ~ /^[0-9]+$/ ? $2 : "", $0 ~ /# *[Ss][Kk][Ii][Pp]/ ? "skip" : "ok")
	next
}
/^Bail out!/ {
	if (!insuite)
		open_suite("unnamed")
	bail = 1
	next
}
/^# suite-exit: / {
	if (insuite && $3 == name) {
		rc = $4 + 0
	} else if ($4 + 0) {
		tfail++
		printf "  %-28s ERROR: exit status %s outside its suite\n", $3, $4
	}
	next
}
# A suite whose runner reports it broke off (timeout, crash) fails even with results.
/^# suite-error: / {
	tfail++
	if (insuite && $3 == name)
		errors++
	printf "  %-28s ERROR: %s\n", $3, substr($0, index($0, $4))
}
END {
	close_suite()
	if (!suites) {
		tfail++
		print "  ERROR: no suite in the log"
	}
	printf "%d passed, %d failed\n", tpass, tfail
	exit tfail ? 1 : 0
}
