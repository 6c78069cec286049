# The test VM: Debian's kernel, an initramfs with busybox, vitsa.ko, vitrt, the suites and
# their data (compiled models, images and the logits the host's in-process backend gives).
VM_DIR      := $(B)/vm
VM_SUITES   := $(VM_DIR)/suites
VM_DATA     := $(VM_DIR)/data
VM_BINS     := $(B)/vm-bin/vitrt $(VM_SELFTEST_BINS)
VM_CKPT     ?= models/vit-fmnist.safetensors
# PyTorch FP32's classes for VM_CKPT on the test images (tests/golden/accuracy)
VM_TRUTH    ?= tests/golden/accuracy/fmnist-t10k.txt
FMNIST      ?= /usr/share/datasets/fashion-mnist

.PHONY: vm vm-suites vm-data
vm: $(VM_DIR)/initramfs.cpio.gz

vm-suites: $(VM_BINS)
	@rm -rf $(VM_SUITES) && mkdir -p $(VM_SUITES)
	cp tests/vm/gemm.sh $(VM_SUITES)/10-gemm.sh
	cp tests/vm/devices.sh $(VM_SUITES)/15-devices.sh
	cp tests/vm/model.sh $(VM_SUITES)/30-model.sh
	cp tests/vm/top.sh $(VM_SUITES)/40-top.sh
	$(VM_SUITE_RULES)

# One compiled model per scheme and what the host's sim backend answers on 32 test images
# (vitrt run's logits, and vitrt eval's classes with the data directory as its dataset), and
# what vitrt does not compute: their true labels and PyTorch FP32's classes.
vm-data: $(B)/vitrt
	@rm -rf $(VM_DATA) && mkdir -p $(VM_DATA)
	tests/vm/idx-head.sh $(FMNIST)/t10k-images-idx3-ubyte.gz 32 >$(VM_DATA)/images.idx
	cp $(VM_DATA)/images.idx $(VM_DATA)/t10k-images-idx3-ubyte
	tests/vm/idx-head.sh $(FMNIST)/t10k-labels-idx1-ubyte.gz 32 >$(VM_DATA)/t10k-labels-idx1-ubyte
	tests/vm/truth.sh $(FMNIST)/t10k-labels-idx1-ubyte.gz $(VM_TRUTH) 32 >$(VM_DATA)/truth.txt
	for s in w8a8 w4a8; do \
		$(B)/vitrt quantize $(VM_CKPT) --calib $(FMNIST) -n 64 -s $$s \
			-o $(VM_DATA)/model-$$s.vitsa >/dev/null && \
		(cd $(VM_DATA) && $(abspath $(B))/vitrt run --backend sim --json -n 32 \
			model-$$s.vitsa images.idx >expected-$$s.json && \
		 $(abspath $(B))/vitrt eval --backend sim --dataset . model-$$s.vitsa \
			--predictions expected-eval-$$s.txt >/dev/null) || exit 1; \
	done

$(VM_DIR)/initramfs.cpio.gz: kernel vm-suites vm-data tests/vm/init.sh tests/vm/mkinitramfs.sh
	tests/vm/mkinitramfs.sh $@ kernel/vitsa.ko $(VM_SUITES) $(VM_DATA) $(VM_BINS)
