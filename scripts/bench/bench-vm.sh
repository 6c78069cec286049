#!/bin/bash
# make bench-vm: a compiled model through the test VM's /dev/vitsa0 (vitsa.ko and the QEMU
# device) against in-process (the sim backend) in the same VM and on the host.
#   scripts/bench/bench-vm.sh [--json] [--model fmnist|deit-s] [-n IMAGES] [--batch B]
#                             [--rounds R] [--pause S]
# --model fmnist (the default): the shipped Fashion-MNIST model, compiled as make run compiles
# it (build/models/vit-fmnist-w8a8.vitsa).  --model deit-s: DeiT-S at 224 (patch 16, dim 384,
# depth 12, 6 heads) with random weights from build/mkvit, quantized on 16 Fashion-MNIST images
# (build/models/deit-s-random-w8a8.vitsa); the VM's in-process rows are left out (TCG runs
# the ref kernel at a few seconds per DeiT-S image).
# Boots tests/vm/run.sh on an initramfs of its own (build/vm/bench) whose only suite is
# tests/vm/bench.sh, so make check's VM is untouched.  The figures come in rounds, because
# this host's speed drifts by 10-20% from minute to minute: in each, the VM runs `vitrt bench`
# on dev, on one thread and on as many as it has CPUs, then idles while the host runs sim on
# the same thread counts; a ratio is a round's dev over the same round's host-sim, and the
# table gives each path's median over the rounds and the ratios' median and range.  Once, the
# VM also runs sim (a tenth of the images, at most 200: TCG is slow).  The table (or JSON)
# goes to stdout, progress to stderr; the JSON is also kept in build/vm/bench/results.json.
# Figures are printed, never asserted.  -n: images per measurement on the device and the host
# (default 8000 for fmnist, 48 for deit-s); --rounds: 3; --pause: the VM's idle seconds per
# round (default: thrice the host's time for one thread, plus 2, at least 4).  Environment:
# QEMU (a QEMU with the vitsa device; default scripts/qemu.sh's), VITRT_CPU (the host's
# kernel), VM_TIMEOUT (900 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/vm/bench
VITRT=build/vitrt
DATA=${FMNIST:-/usr/share/datasets/fashion-mnist}
NAME=fmnist
IMAGES=
BATCH=1
ROUNDS=3
PAUSE=
JSON=

while [ $# -gt 0 ]; do
	case $1 in
	--json) JSON=1 ;;
	--model) NAME=$2; shift ;;
	-n) IMAGES=$2; shift ;;
	--batch) BATCH=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--pause) PAUSE=$2; shift ;;
	-h|--help) sed -n '2,24s/^# \?//p' "$0"; exit 0 ;;
	*) echo "bench-vm: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $NAME in
fmnist)
	CKPT=models/vit-fmnist.safetensors SIM=1
	IMAGES=${IMAGES:-8000} ;;
deit-s)
	CKPT=build/models/deit-s-random.safetensors SIM=0
	IMAGES=${IMAGES:-48} ;;
*)
	echo "bench-vm: --model wants fmnist or deit-s, not '$NAME'" >&2; exit 2 ;;
esac
MODEL=build/models/$(basename "$CKPT" .safetensors)-w8a8.vitsa
[[ $IMAGES =~ ^[1-9][0-9]*$ && $BATCH =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ &&
   $PAUSE =~ ^([1-9][0-9]*)?$ ]] ||
	{ echo "bench-vm: -n, --batch, --rounds and --pause want positive integers" >&2; exit 2; }
log() { echo "bench-vm: $*" >&2; }

# ---- the pieces: QEMU with the device, Debian's kernel, the model as make run compiles it ----
qemu=${QEMU:-$(scripts/qemu.sh | tail -n 1)}
kernel=$(scripts/kernel.sh | tail -n 1)
[ -d "$DATA" ] || scripts/deps.sh --run >&2
mkdir -p build/models
if [ "$NAME" = deit-s ] && [ ! -s "$CKPT" ]; then
	log "build/mkvit $CKPT (DeiT-S, random weights)"
	build/mkvit "$CKPT" 384 12 6 >/dev/null
fi
if [ ! -s "$MODEL" ] || [ "$CKPT" -nt "$MODEL" ] || [ "$VITRT" -nt "$MODEL" ]; then
	if [ "$NAME" = fmnist ]; then
		log "vitrt quantize $CKPT (calibrating on 256 training images, as make run)"
		"$VITRT" quantize "$CKPT" --calib "$DATA" -o "$MODEL" >/dev/null
	else
		# random weights give flat logits: the quantizer's check gets loose bounds
		log "vitrt quantize $CKPT (calibrating on 16 training images)"
		"$VITRT" quantize "$CKPT" --calib "$DATA" -n 16 --max-logit-error 1 \
			--mean-logit-error 1 -o "$MODEL" >/dev/null
	fi
fi

# sim MS_VAR KERNEL_VAR THREADS: the host's in-process ms/image and kernel on THREADS threads
sim() {
	local out
	out=$("$VITRT" bench "$MODEL" --backend sim -n "$IMAGES" --batch "$BATCH" --threads "$3")
	scheme=$(sed -n 's/.*scheme \([^,]*\),.*/\1/p' <<<"$out")
	printf -v "$2" '%s' "$(sed -n 's/.*(kernel \([^,]*\),.*/\1/p' <<<"$out")"
	printf -v "$1" '%s' "$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' <<<"$out")"
}

# ---- the host's part of a round, timed once before the VM (it also warms the caches) ----
t0=$(date +%s.%N)
sim cal_ms cal_kernel 1
if [ -z "$PAUSE" ]; then
	PAUSE=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { p = int(3 * (b - a)) + 2;
		print p < 4 ? 4 : p }')
fi

# ---- the VM: its initramfs holds only the bench suite and the model ----
rm -rf "$OUT" && mkdir -p "$OUT/suites" "$OUT/data"
cp tests/vm/bench.sh "$OUT/suites/50-bench.sh"
cp "$MODEL" "$OUT/data/model.vitsa"
SIM_IMAGES=$(((IMAGES + 9) / 10))
SIM_IMAGES=$((SIM * (SIM_IMAGES < 200 ? SIM_IMAGES : 200)))
echo "$IMAGES $BATCH $SIM_IMAGES $ROUNDS $PAUSE" >"$OUT/data/bench.args"
tests/vm/mkinitramfs.sh "$OUT/initramfs.cpio.gz" kernel/vitsa.ko "$OUT/suites" "$OUT/data" \
	build/vm-bin/vitrt

# host_rounds: read the console; at each "vitsa-vm: bench-host R" run sim on the VM's thread
# counts, a line "R THREADS MS KERNEL START END" each into $OUT/host.txt; at each
# "vitsa-vm: bench-resume R" a line "R TIME" into $OUT/resume.txt; until "bench-watch-end".
host_rounds() {
	local line cpus=1 r t t1 ms kernel
	while IFS= read -r line; do
		case $line in
		"# bench: cpu="*)
			cpus=${line#"# bench: cpu="}
			cpus=${cpus%% *} ;;
		"vitsa-vm: bench-host "*)
			r=${line#vitsa-vm: bench-host }
			for t in 1 $([ "$cpus" -gt 1 ] && echo "$cpus"); do
				t1=$(date +%s.%N)
				sim ms kernel "$t"
				echo "$r $t $ms $kernel $t1 $(date +%s.%N)" >>"$OUT/host.txt"
			done ;;
		"vitsa-vm: bench-resume "*)
			echo "${line#vitsa-vm: bench-resume } $(date +%s.%N)" >>"$OUT/resume.txt" ;;
		"vitsa-vm: bench-watch-end")
			return ;;
		esac
	done
}
LOG=build/logs/vm-bench-console.log
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
: >"$OUT/host.txt"
: >"$OUT/resume.txt"
mkfifo "$OUT/console"
tail -n +1 -F "$LOG" >"$OUT/console" 2>/dev/null &
tail_pid=$!
host_rounds <"$OUT/console" &
watch_pid=$!
trap 'kill "$tail_pid" "$watch_pid" 2>/dev/null || true' EXIT	# a failed run leaves none
log "booting the test VM (TCG): $ROUNDS rounds of $IMAGES images of $NAME on dev, the host's" \
    "sim in a ${PAUSE} s pause after each"
t0=$SECONDS
VM_LOG=$LOG VM_TIMEOUT=${VM_TIMEOUT:-900} \
	tests/vm/run.sh "$qemu" "$kernel" "$OUT/initramfs.cpio.gz" >"$OUT/vm.tap" || true
echo "vitsa-vm: bench-watch-end" >>"$LOG"
wait "$watch_pid" || true
kill "$tail_pid" 2>/dev/null || true
log "VM done in $((SECONDS - t0)) s (KTAP in $OUT/vm.tap)"

# field PATH ROUND THREADS KEY: a KEY=VALUE of the VM's "# bench: path=... threads=..." line
field() {
	sed -n "s/^# bench: path=$1 round=$2 threads=$3 .*\\b$4=\\([^ ]*\\).*/\\1/p" "$OUT/vm.tap" |
		head -n 1
}
# host ROUND THREADS COLUMN: a field of the host's line for that round (3 ms, 4 kernel, 6 end)
host() {
	awk -v r="$1" -v t="$2" -v c="$3" '$1 == r && $2 == t { print $c; exit }' "$OUT/host.txt"
}
# median X...: the middle value (the mean of the two middle ones for an even count)
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cpus=$(sed -n 's/^# bench: cpu=\([0-9]*\) .*/\1/p' "$OUT/vm.tap" | head -n 1)
vm_cpu=$(sed -n 's/^# bench: cpu=[0-9]* model=//p' "$OUT/vm.tap" | head -n 1)
host_cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
threads=1
[ "${cpus:-1}" -gt 1 ] && threads="1 $cpus"
declare -A MS RATIOS KERNEL	# "PATH THREADS" -> median ms/image; "THREADS" -> ratios; kernels
rounds_json=()
for t in $threads; do
	devs=() hosts=() ratios=()
	for ((r = 1; r <= ROUNDS; r++)); do
		d=$(field dev "$r" "$t" ms) h=$(host "$r" "$t" 3)
		if [ -z "$d" ] || [ -z "$h" ]; then
			log "round $r, $t thread(s): no figures from the $([ -z "$d" ] && echo VM ||
				echo host); the VM's KTAP:"
			cat "$OUT/vm.tap" >&2
			exit 1
		fi
		res=$(awk -v r="$r" '$1 == r { print $2 }' "$OUT/resume.txt")
		if [ -n "$res" ] && awk -v e="$(host "$r" "$t" 6)" -v s="$res" 'BEGIN { exit !(e > s) }'
		then
			log "round $r: the host's sim ran past the VM's pause (give a longer --pause)"
		fi
		devs+=("$d") hosts+=("$h") ratios+=("$(ratio "$d" "$h")")
		printf -v js '{"round": %s, "threads": %s, "host_sim_ms": %s, "vm_dev_ms": %s, %s}' \
			"$r" "$t" "$h" "$d" "\"vs_host_sim\": ${ratios[-1]}"
		rounds_json+=("$js")
	done
	MS["host-sim $t"]=$(median "${hosts[@]}")
	MS["vm-dev $t"]=$(median "${devs[@]}")
	RATIOS[$t]="${ratios[*]}"
	KERNEL[$t]=$(host 1 "$t" 4)
	if [ $SIM = 1 ]; then
		MS["vm-sim $t"]=$(field sim 1 "$t" ms)
		[ -n "${MS[vm-sim $t]}" ] || { log "no vm-sim figure"; cat "$OUT/vm.tap" >&2; exit 1; }
	fi
done
rows=()			# "PATH THREADS KERNEL IMAGES MEASUREMENTS", in order
for t in $threads; do
	rows+=("host-sim $t ${KERNEL[$t]} $IMAGES $ROUNDS")
	[ $SIM = 1 ] && rows+=("vm-sim $t $(field sim 1 "$t" kernel) $SIM_IMAGES 1")
	rows+=("vm-dev $t - $IMAGES $ROUNDS")
done
# the ratio of a row: vm-dev's is the median of its rounds' ratios, vm-sim's to host-sim's median
row_ratio() {
	if [ "$1" = vm-dev ]; then
		# shellcheck disable=SC2086
		printf '%.2f' "$(median ${RATIOS[$2]})"
	else
		ratio "${MS[$1 $2]}" "${MS[host-sim $2]}"
	fi
}
range() {
	# shellcheck disable=SC2086
	printf '%s\n' ${RATIOS[$1]} | sort -g | sed -n '1p;$p' | paste -sd-
}

d1=$(field devices1 1 "$cpus" ms)	# batch 16 on one device, then on all
d2=$(field devices2 1 "$cpus" ms)
t1=$(field devices1 1 "$cpus" device_ips)	# the same in images/s by device time
t2=$(field devices2 1 "$cpus" device_ips)
json() {
	local r sep='' p th k i m
	echo "{\"name\": \"$NAME\", \"model\": \"$MODEL\", \"scheme\": \"$scheme\", \"batch\": $BATCH,"
	echo " \"host_cpu\": \"$host_cpu\", \"host_cpus\": $(nproc), \"vm_cpu\": \"$vm_cpu\","
	echo " \"vm_cpus\": $cpus, \"rounds\": $ROUNDS, \"rows\": ["
	for r in "${rows[@]}"; do
		read -r p th k i m <<<"$r"
		echo "  $sep{\"path\": \"$p\", \"threads\": $th, \"kernel\": \"$k\", \"images\": $i," \
			"\"measurements\": $m, \"ms_per_image\": ${MS[$p $th]}," \
			"\"vs_host_sim\": $(row_ratio "$p" "$th")}"
		sep=,
	done
	echo " ], \"per_round\": ["
	sep=
	for r in "${rounds_json[@]}"; do
		echo "  $sep$r"
		sep=,
	done
	echo " ], \"devices_batch16_ms\": {\"one\": ${d1:-null}, \"all\": ${d2:-null}},"
	local j1=${t1:-null} j2=${t2:-null}
	[ "$j1" = - ] && j1=null
	[ "$j2" = - ] && j2=null
	echo " \"devices_batch16_device_ips\": {\"one\": $j1, \"all\": $j2},"
	if [ $SIM = 0 ]; then
		echo " \"vm_dev_vs_vm_sim\": null}"
		return
	fi
	echo " \"vm_dev_vs_vm_sim\": {"
	sep=
	for t in $threads; do
		echo "  $sep\"$t\": $(ratio "${MS[vm-dev $t]}" "${MS[vm-sim $t]}")"
		sep=,
	done
	echo " }}"
}
json >"$OUT/results.json"
if [ -n "$JSON" ]; then
	cat "$OUT/results.json"
	exit 0
fi
echo "model $MODEL (scheme $scheme), batch $BATCH"
echo "host: $host_cpu, $(nproc) CPUs; VM: QEMU TCG, $cpus vCPUs ($vm_cpu)"
echo "$ROUNDS rounds, each: the VM's dev, then the host's sim; medians over the rounds"
echo
printf '%-9s %7s  %-11s %6s %10s %12s  %s\n' path threads kernel images ms/image \
	"vs host-sim" "(rounds' range)"
for r in "${rows[@]}"; do
	read -r p th k i m <<<"$r"
	printf '%-9s %7s  %-11s %6s %10.3f %11.2fx  %s\n' "$p" "$th" "$k" "$i" "${MS[$p $th]}" \
		"$(row_ratio "$p" "$th")" "$([ "$p" = vm-dev ] && echo "($(range "$th"))")"
done
echo
[ -n "$d1" ] && [ -n "$d2" ] &&
	echo "batch 16: /dev/vitsa0 $d1 ms/image, both devices $d2 ms/image:" \
		"$(ratio "$d1" "$d2")x the images/s of one"
[ -n "$t1" ] && [ -n "$t2" ] && [ "$t1" != - ] && [ "$t2" != - ] &&
	echo "batch 16 by device time (modeled cycles, busiest device, 1 GHz): one $t1," \
		"both $t2 images/s: $(ratio "$t2" "$t1")x"
for t in $threads; do
	echo "$t thread(s):$([ $SIM = 1 ] && echo " dev/sim in the VM" \
		"$(ratio "${MS[vm-dev $t]}" "${MS[vm-sim $t]}")x,")" \
		"the VM's dev / the host's sim $(row_ratio vm-dev "$t")x, rounds $(range "$t")"
done
