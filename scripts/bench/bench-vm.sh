#!/bin/bash
# make bench-vm: a compiled model through the test VM's /dev/vitsa0 (vitsa.ko and the QEMU
# device) against in-process (the sim backend) in the same VM and on the host.
#   scripts/bench/bench-vm.sh [--json] [--model fmnist|deit-s] [-n IMAGES] [--batch B]
# --model fmnist (the default): the shipped Fashion-MNIST model, compiled as make run compiles
# it (build/models/vit-fmnist-w8a8.vitsa).  --model deit-s: DeiT-S at 224 (patch 16, dim 384,
# depth 12, 6 heads) with random weights from build/mkvit, quantized on 16 Fashion-MNIST images
# (build/models/deit-s-random-w8a8.vitsa); the VM's in-process rows are left out (TCG runs
# the ref kernel at a few seconds per DeiT-S image).
# Boots tests/vm/run.sh on an initramfs of its own (build/vm/bench) whose only suite is
# tests/vm/bench.sh, so make check's VM is untouched; the VM runs `vitrt bench` on dev, then
# sim (a tenth of the images: TCG is slow), on one thread and on as many as it has CPUs, and
# the host runs sim on the same thread counts.  The table (or JSON) goes to stdout, progress to
# stderr; the JSON is also kept in build/vm/bench/results.json.  Figures are printed, never
# asserted.  -n: images per measurement on the device and the host (default 2000 for fmnist,
# 48 for deit-s).  Environment: QEMU (a QEMU with the vitsa device; default scripts/qemu.sh's),
# VITRT_CPU (the host's kernel), VM_TIMEOUT (600 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/vm/bench
VITRT=build/vitrt
DATA=${FMNIST:-/usr/share/datasets/fashion-mnist}
NAME=fmnist
IMAGES=
BATCH=1
JSON=

while [ $# -gt 0 ]; do
	case $1 in
	--json) JSON=1 ;;
	--model) NAME=$2; shift ;;
	-n) IMAGES=$2; shift ;;
	--batch) BATCH=$2; shift ;;
	-h|--help) sed -n '2,19s/^# \?//p' "$0"; exit 0 ;;
	*) echo "bench-vm: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $NAME in
fmnist)
	CKPT=models/vit-fmnist.safetensors SIM=1
	IMAGES=${IMAGES:-2000} ;;
deit-s)
	CKPT=build/models/deit-s-random.safetensors SIM=0
	IMAGES=${IMAGES:-48} ;;
*)
	echo "bench-vm: --model wants fmnist or deit-s, not '$NAME'" >&2; exit 2 ;;
esac
MODEL=build/models/$(basename "$CKPT" .safetensors)-w8a8.vitsa
[[ $IMAGES =~ ^[1-9][0-9]*$ && $BATCH =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench-vm: -n and --batch want positive integers" >&2; exit 2; }
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

# ---- the VM: its initramfs holds only the bench suite and the model ----
rm -rf "$OUT" && mkdir -p "$OUT/suites" "$OUT/data"
cp tests/vm/bench.sh "$OUT/suites/50-bench.sh"
cp "$MODEL" "$OUT/data/model.vitsa"
SIM_IMAGES=$((SIM * ((IMAGES + 9) / 10)))
echo "$IMAGES $BATCH $SIM_IMAGES" >"$OUT/data/bench.args"
tests/vm/mkinitramfs.sh "$OUT/initramfs.cpio.gz" kernel/vitsa.ko "$OUT/suites" "$OUT/data" \
	build/vm-bin/vitrt
log "booting the test VM (TCG), $IMAGES images of $NAME on dev$([ $SIM = 1 ] && echo " then sim")"
t0=$SECONDS
VM_LOG=build/logs/vm-bench-console.log VM_TIMEOUT=${VM_TIMEOUT:-600} \
	tests/vm/run.sh "$qemu" "$kernel" "$OUT/initramfs.cpio.gz" >"$OUT/vm.tap" || true
log "VM done in $((SECONDS - t0)) s (KTAP in $OUT/vm.tap)"

# field PATH THREADS KEY: a KEY=VALUE of the VM's "# bench: path=PATH threads=THREADS ..." line
field() {
	sed -n "s/^# bench: path=$1 threads=$2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$OUT/vm.tap" | head -n 1
}
cpus=$(sed -n 's/^# bench: cpu=\([0-9]*\) .*/\1/p' "$OUT/vm.tap" | head -n 1)
vm_cpu=$(sed -n 's/^# bench: cpu=[0-9]* model=//p' "$OUT/vm.tap" | head -n 1)
threads=1
[ "${cpus:-1}" -gt 1 ] && threads="1 $cpus"
for t in $threads; do
	if [ -z "$(field dev "$t" ms)" ] || { [ $SIM = 1 ] && [ -z "$(field sim "$t" ms)" ]; }; then
		log "the VM gave no figures; its KTAP:"
		cat "$OUT/vm.tap" >&2
		exit 1
	fi
done

# ---- the host, in-process, on the same thread counts and images ----
host_images=$IMAGES
host_cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)
rows=()			# "PATH THREADS KERNEL IMAGES", in order
declare -A MS		# "PATH THREADS" -> ms/image
for t in $threads; do
	out=$("$VITRT" bench "$MODEL" --backend sim -n "$host_images" --batch "$BATCH" --threads "$t")
	scheme=$(sed -n 's/.*scheme \([^,]*\),.*/\1/p' <<<"$out")
	kernel=$(sed -n 's/.*(kernel \([^,]*\),.*/\1/p' <<<"$out")
	MS["host-sim $t"]=$(sed -n 's/^ *integer program .*(\([0-9.]*\) ms\/image).*/\1/p' <<<"$out")
	MS["vm-dev $t"]=$(field dev "$t" ms)
	rows+=("host-sim $t $kernel $host_images")
	if [ $SIM = 1 ]; then
		MS["vm-sim $t"]=$(field sim "$t" ms)
		rows+=("vm-sim $t $(field sim "$t" kernel) $SIM_IMAGES")
	fi
	rows+=("vm-dev $t - $IMAGES")
done

d1=$(field devices1 "$cpus" ms)	# batch 16 on one device, then on all
d2=$(field devices2 "$cpus" ms)
t1=$(field devices1 "$cpus" device_ips)	# the same in images/s by device time
t2=$(field devices2 "$cpus" device_ips)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
json() {
	local r sep='' t p th k i
	echo "{\"name\": \"$NAME\", \"model\": \"$MODEL\", \"scheme\": \"$scheme\", \"batch\": $BATCH,"
	echo " \"host_cpu\": \"$host_cpu\", \"host_cpus\": $(nproc), \"vm_cpu\": \"$vm_cpu\","
	echo " \"vm_cpus\": $cpus, \"rows\": ["
	for r in "${rows[@]}"; do
		read -r p th k i <<<"$r"
		echo "  $sep{\"path\": \"$p\", \"threads\": $th, \"kernel\": \"$k\", \"images\": $i," \
			"\"ms_per_image\": ${MS[$p $th]}," \
			"\"vs_host_sim\": $(ratio "${MS[$p $th]}" "${MS[host-sim $th]}")}"
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
echo
printf '%-9s %7s  %-11s %6s %10s %12s\n' path threads kernel images ms/image "vs host-sim"
for r in "${rows[@]}"; do
	read -r p th k i <<<"$r"
	printf '%-9s %7s  %-11s %6s %10.3f %11.2fx\n' "$p" "$th" "$k" "$i" "${MS[$p $th]}" \
		"$(ratio "${MS[$p $th]}" "${MS[host-sim $th]}")"
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
		"the VM's dev / the host's sim $(ratio "${MS[vm-dev $t]}" "${MS[host-sim $t]}")x"
done
