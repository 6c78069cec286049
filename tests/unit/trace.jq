# The checks of a `vitrt --trace` file (tests/unit/trace.sh), a jq program:
#
#   jq -e --argjson images N --argjson s SCHEDULE -f tests/unit/trace.jq FILE
#
# N: the images the run classified; SCHEDULE: `vitrt info --json MODEL | jq .schedule` ({steps,
# gemms, submissions}).  It fails with an error naming the first problem:
#  - the file is Chrome trace-event JSON: {"displayTimeUnit", "traceEvents": [...]}, every
#    event with ph, ts, pid, tid, and X events with a name and a dur >= 0;
#  - on each track (pid, tid) the X events nest: two of them are disjoint or one holds the other;
#    steps and jobs are disjoint (a thread runs one at a time);
#  - every step of the program but the SYNCs (submissions) appears exactly once per image, as a
#    host op or a device job, under the same name for every image; images are 0..N-1;
#  - each image has the program's GEMMs as GEMM jobs, each job has cycles, the jobs are as many
#    as the submissions say they hold, and each lies within a submission from its thread.
# Times are compared in whole ns (the file has us with 3 decimals).

def ns: . * 1000 | round;
def end_ns: (.ts | ns) + (.dur | ns);
def X: .traceEvents[] | select(.ph == "X");

def well_formed:
	if type != "object" or (.traceEvents | type) != "array" then error("no traceEvents array")
	elif .displayTimeUnit != "ms" then error("displayTimeUnit is not ms")
	else .traceEvents[] |
		if ([.ph, .ts, .pid, .tid] | map(type)) != ["string", "number", "number", "number"]
			then error("an event without ph, ts, pid or tid: \(tostring)")
		elif .ph != "X" and .ph != "M" then error("an event of phase \(.ph)")
		elif .ph == "X" and ((.name | type) != "string" or (.dur | type) != "number" or
				     .dur < 0) then error("an X event without name or dur: \(tostring)")
		else empty end
	end;

# A tid in one process only (Perfetto can take a tid seen under another pid for a new thread).
def tids_own:
	[X | [.pid, .tid]] | unique | group_by(.[1]) | map(select(length > 1)) |
	if length > 0 then error("tid \(.[0][0][1]) in processes \(.[0] | map(.[0]))")
	else empty end;

# The X events of one track, by start, the longer first: each either starts once the
# innermost open one has ended, or ends within it.  The reduction keeps the open ends.
def nested:
	sort_by([(.ts | ns), -(.dur | ns)]) |
	reduce .[] as $e ([];
		($e.ts | ns) as $a | ($e | end_ns) as $b |
		until(length == 0 or .[-1] > $a; .[:-1]) |
		if length > 0 and $b > .[-1] then error("overlaps without nesting: \($e | tostring)")
		else . + [$b] end);

def tracks_nest: [X] | group_by([.pid, .tid]) | .[] | nested | empty;

# A thread runs one step at a time, a submission one job at a time: on a track, the steps
# (host ops or jobs) follow one another, none inside another.
def disjoint:
	sort_by(.ts | ns) | reduce .[] as $e (0;
		if ($e.ts | ns) < . then error("a step inside another: \($e | tostring)")
		else ($e | end_ns) end);

def steps_in_turn:
	[X | select(.args.step != null or .cat == "job")] | group_by([.pid, .tid]) | .[] |
	disjoint | empty;

# [image, step, name] of every host op and job of a program's step
def steps: [X | select(.args.step != null) | [.args.image, .args.step, .name]];

def steps_once($images; $s):
	steps as $p |
	($p | group_by(.[0:2]) | map(select(length > 1))) as $dup |
	if ($dup | length) > 0 then error("image \($dup[0][0][0]) runs step \($dup[0][0][1]) twice")
	elif ($p | map(.[0]) | unique) != [range($images)]
		then error("images \($p | map(.[0]) | unique) are not 0..\($images - 1)")
	elif any($p | group_by(.[0])[]; length != $s.steps - $s.submissions)
		then error("an image without \($s.steps - $s.submissions) steps")
	elif any($p | group_by(.[1])[]; map(.[2]) | unique | length > 1)
		then error("a step under two names")
	else empty end;

def jobs_counted($images; $s):
	[X | select(.cat == "job")] as $jobs | [X | select(.cat == "device")] as $subs |
	if ($jobs | length) != ($subs | map(.args.jobs) | add)
		then error("\($jobs | length) jobs, the submissions hold \($subs | map(.args.jobs) | add)")
	elif any($jobs[]; (.args.cycles | type) != "number" or .args.cycles <= 0)
		then error("a job without cycles")
	elif ([$jobs[] | select(.args.kind == "gemm") | .args.image] | group_by(.) |
	      map(length)) != [range($images) | $s.gemms]
		then error("an image without \($s.gemms) GEMM jobs")
	else empty end;

# Each job within a submission on its device from its thread (the jobs' tid is that + 2^22).
def jobs_within:
	([X | select(.cat == "device")] | group_by([.pid, .tid]) |
	 map({key: "\(.[0].pid) \(.[0].tid)", value: map([(.ts | ns), end_ns])}) | from_entries)
	as $subs |
	X | select(.cat == "job") | (.ts | ns) as $a | end_ns as $b |
	if any($subs["\(.pid) \(.tid - 4194304)"][]?; .[0] <= $a and $b <= .[1]) then empty
	else error("a job outside every submission: \(tostring)") end;

well_formed, tids_own, tracks_nest, steps_in_turn, steps_once($images; $s), jobs_counted($images; $s), jobs_within,
true
