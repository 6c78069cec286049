#!/bin/sh
# In the VM: the integer ViT through /dev/vitsa0 gives logits bit-identical to the in-process
# model's, computed on the host at build time (/data/expected-*.json), for each scheme (KTAP).
n=0
failed=0
cd /data || exit 1
schemes=$(ls | sed -n 's/^model-\(.*\)\.vitsa$/\1/p')
echo "TAP version 13"
echo "1..$(($(echo "$schemes" | wc -w) * 2))"
for s in $schemes; do
	for backend in dev:/dev/vitsa0 sim; do
		n=$((n + 1))
		name="${s}_logits_${backend%%:*}_equal_host_sim"
		if vitrt run --backend "$backend" --json -n 32 model-$s.vitsa images.idx \
			>/tmp/out.json 2>/tmp/err && cmp -s /tmp/out.json expected-$s.json; then
			echo "ok $n $name"
		else
			echo "not ok $n $name"
			failed=1
			{ cat /tmp/err; cmp /tmp/out.json expected-$s.json; } 2>&1 | head -5 |
				sed 's/^/# /'
		fi
	done
done
exit $failed
