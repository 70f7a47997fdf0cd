# The course in two commands:
#   make lab    open the course in JupyterLab (creates .venv on first use)
#   make test   run every test: unit tests + every notebook and solution under nbval
# Everything is installed into a local virtual environment, .venv, from pyproject.toml with the
# versions pinned in constraints.txt (torch pinned to the 2.13.0 CPU build).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
LAB_ARGS ?=
# TORCH=cpu: take PyTorch from PyTorch's CPU-only wheel index (Linux laptops without an NVIDIA GPU;
# the default index gives Linux the CUDA build, several GB of nvidia-* wheels). Default: the
# package index pip is configured with.
TORCH ?=
TORCH_INDEX_URL := https://download.pytorch.org/whl/cpu
ifeq ($(TORCH),cpu)
PIP_TORCH := --extra-index-url $(TORCH_INDEX_URL)
else ifneq ($(TORCH),)
$(error TORCH must be empty or cpu, got '$(TORCH)')
endif
# JupyterLab refuses to run as root unless told; containers and CI machines often are root
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# the course runs offline: no news feed, no update check
OFFLINE_FLAGS := --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

.PHONY: lab test test-blas doctor venv exercises release execute bench site clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(PIP_TORCH) -c constraints.txt -e '.[dev]'
	@# offline course: no "get notified about Jupyter news?" prompt (the feed needs the internet)
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyterlab/apputils-extension:announcements >/dev/null 2>&1
	@# nbgrader (a dev dependency) is used as a command by the tests only: no nbgrader menus in the lab
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	@for e in formgrader validate_assignment assignment_list course_list; do \
		$(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$e >/dev/null 2>&1; done
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
		$(OFFLINE_FLAGS) $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)
	$(NBVAL) tests notebooks solutions

# What breaks a student's first hour (Python, packages, torch, kernel, widgets, ...), one line each.
doctor: $(STAMP)
	$(BIN)/python -m course_lib.doctor

# The committed outputs must not depend on the CPU or the BLAS: re-run every notebook and solution
# under two other OpenBLAS kernels (CI runs this after `make test`; see docs/DESIGN.md).
NBVAL := $(BIN)/python -m pytest -n $(JOBS) --dist loadscope \
	--nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 300
test-blas: $(STAMP)
	OPENBLAS_CORETYPE=Haswell $(NBVAL) notebooks solutions
	OPENBLAS_CORETYPE=SandyBridge $(NBVAL) notebooks solutions

# Regenerate exercises/ from solutions/ (the solutions are the single source).
exercises: $(STAMP)
	$(BIN)/python -m course_lib.grading.assignments build

# The student bundle (exercises, lectures, the library without references): make release OUT=dir
release: $(STAMP)
	@test -n "$(OUT)" || { echo 'usage: make release OUT=path/to/new/folder'; exit 2; }
	$(BIN)/course-release $(OUT)

# Re-execute notebooks in place after editing them, outputs committed for nbval, e.g.
#   make execute NB=notebooks/02_gradient_descent.ipynb      (several: NB="a.ipynb b.ipynb")
# record_timing=False keeps per-cell timestamps out of the file (clean diffs).
execute: $(STAMP)
	@test -n "$(NB)" || { echo 'usage: make execute NB=notebooks/NN_topic.ipynb'; exit 2; }
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=600 $(NB)

# Benchmarks (under 5 minutes on 2 cores): every benchmarks/bench_*.py plug-in, written to
# benchmarks/RESULTS.md (BENCHMARKS.md summarises it; no timed tests). BENCH_ARGS="--quick" or
# "--only optimizers,runner" for a part.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The course as a static HTML book (Sphinx + MyST-NB) from the committed outputs, nothing executed,
# offline (MathJax bundled): open site/_build/html/index.html. SITE_DIR=... builds elsewhere.
SITE_DIR ?= site/_build
site: $(STAMP)
	$(BIN)/python site/build.py --out "$(SITE_DIR)"

clean-venv:
	rm -rf $(VENV)
