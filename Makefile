# The two commands of the README: `make repro` (the pipeline on its defaults) and `make test`.
# Each creates the virtual environment and installs what it needs first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PYTHON ?= python3
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
FMNIST_SYSTEM := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: repro smoke weights test lint check-lock dry-run compare handin caption setup setup-dev pipeline-packages fashion-mnist java chromium fonts qemu bench clean-venv

repro: setup pipeline-packages
	dvc repro
	@python tools/notices.py

# The whole pipeline on tiny params (smoke.yaml) in a temporary DVC experiment: the workspace and
# its committed results stay as they are; the report lands in smoke/REPORT.html.
smoke: setup pipeline-packages
	python tools/smoke.py

# torchvision's ImageNet weights for the encoder, put in data/weights/ from the torch hub cache or
# downloaded, checked and tracked by DVC; then: dvc exp run -S captioning.encoder.weights=imagenet
weights: setup
	python tools/weights.py

test: setup setup-dev pipeline-packages chromium qemu
	python -m pytest

# The experiments side by side, on what the homework compares: the best rate and its accuracies,
# BLEU-4 (beam) of both decoders, the rates tried (about 125 columns; DVC hides the columns that do not fit).
COMPARE = ^(Experiment|lr|best_lr|best_val_acc|best_test_acc|(vanilla|attention|attention_minus_vanilla)\.beam(_lp)?\.bleu4\.(mean|sd))$$
compare: setup
	dvc exp show --no-pager --precision 4 --drop '.*' --keep '$(COMPARE)'

# What a student uploads: REPORT.html is one self-contained file (images inlined); REPORT.pdf is it
# printed by headless Chromium (make chromium installs it where apt works).
BROWSER = $(firstword $(foreach b,chromium chromium-browser google-chrome,$(shell command -v $(b) 2>/dev/null)))
handin: chromium
	@test -f REPORT.html || { echo "error: REPORT.html: not found; run make repro first"; exit 1; }
	@test -n "$(BROWSER)" || { echo "error: no Chromium on PATH to print REPORT.pdf (REPORT.html is the hand-in)"; exit 1; }
	$(BROWSER) --headless --no-sandbox --disable-gpu --no-pdf-header-footer --virtual-time-budget=10000 \
	  --print-to-pdf=REPORT.pdf file://$(CURDIR)/REPORT.html 2>/dev/null
	@echo "REPORT.pdf and REPORT.html (self-contained): either is the hand-in"

# Captions of your own images with the trained attention decoder: make caption IMAGES="a.tif b.jpg"
caption: setup
	@test -n "$(IMAGES)" || { echo 'usage: make caption IMAGES="a.tif b.jpg"'; exit 1; }
	python tools/caption.py $(IMAGES)

# CI's gate: the committed dvc.lock matches the committed code, params and results (no data needed).
check-lock: setup
	python tools/check_lock.py

# DVC's own answer on a clean checkout (a non-zero exit when a stage would run; README: Working with
# experiments). Plain `dvc repro --dry` fails there even when all is current: it needs the data.
dry-run: setup
	dvc repro --dry --allow-missing

# Lint, format and types (pyproject.toml), and the CI workflow (actionlint): what CI runs.
LINTED = src stages tools tests bench
lint: setup-dev
	ruff check $(LINTED)
	ruff format --check $(LINTED)
	mypy
	actionlint .github/workflows/ci.yml

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

# This machine's pip prints one warning per package about its local mirror folders: hide them.
$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -r requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(VENV)/bin/python -m pip install -q --no-deps -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(VENV)/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	touch $@

# Debian packages, installed where apt is usable and the thing is not already there:
# dataset-fashion-mnist (else the download stage falls back to the official URLs) and a Java
# runtime for METEOR (else the evaluate stages leave METEOR out and say so); Chromium, for the test
# that loads `dvc plots show` in a browser (else that test is skipped, saying why); for `make test`
# only, qemu-user, whose qemu-x86_64 runs the tests of other CPUs (emulated AMD and Intel models).
APT_INSTALL = if ! command -v apt-get >/dev/null; then echo "note: no apt-get; $(2)"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "note: cannot run apt-get as root; $(2)"; exit 0; fi; \
	echo "installing Debian's $(1)"; \
	{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1) >/dev/null; } \
	  || echo "note: apt-get install $(1) failed; $(2)"

# what the pipeline needs (make repro); make test adds chromium and qemu-user, make handin chromium
pipeline-packages: fashion-mnist java fonts

fashion-mnist:
	@if [ -f $(FMNIST_SYSTEM) ] || [ -f data/raw_fashion_mnist/train-images-idx3-ubyte.gz ]; then exit 0; fi; \
	$(call APT_INSTALL,dataset-fashion-mnist,Fashion-MNIST will be downloaded)

java:
	@if command -v java >/dev/null; then exit 0; fi; \
	$(call APT_INSTALL,default-jre-headless,METEOR will be left out)

# fonts-noto-cjk: Chinese, Japanese and Korean captions in the figures (other scripts: DejaVu Sans, matplotlib's own)
fonts:
	@if ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1; then exit 0; fi; \
	$(call APT_INSTALL,fonts-noto-cjk,Chinese/Japanese/Korean captions will be drawn as boxes in the figures)

chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then exit 0; fi; \
	$(call APT_INSTALL,chromium,the browser test of dvc plots show will be skipped)

qemu:
	@if command -v qemu-x86_64 >/dev/null; then exit 0; fi; \
	$(call APT_INSTALL,qemu-user,the tests on emulated CPUs will be skipped)

bench: setup fashion-mnist
	python bench/cnn_sweep.py

clean-venv:
	rm -rf $(VENV)
