# textlens: `make demo` reads the bundled sample; `make test` sets up everything and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q --retries 10 --timeout 60
# A dropped connection to the package index should not fail a whole run: try an install up to 3 times.
RETRY := for attempt in 1 2 3; do eval "$$cmd" && break; [ $$attempt = 3 ] && exit 1; echo "retrying install ($$attempt)"; sleep 20; done
# Fonts for the synthetic engine (document faces, then display and script faces for scene text), Tesseract and poppler for benchmarks and PDF tests, a word list, strace for the offline test, groff to typeset the real manual page the output tests read (tests/real_pages.py; OCRmyPDF's plugin test also wants tesseract).
APT_PACKAGES := tesseract-ocr poppler-utils wamerican fontconfig strace groff chromium \
	fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-croscore fonts-crosextra-carlito \
	fonts-crosextra-caladea fonts-urw-base35 fonts-texgyre fonts-roboto-unhinted fonts-open-sans fonts-lato \
	fonts-paratype fonts-sil-gentium fonts-ebgaramond fonts-linuxlibertine fonts-cantarell fonts-comic-neue \
	fonts-go fonts-hack fonts-inconsolata fonts-firacode fonts-noto-mono fonts-noto-core fonts-freefont-ttf \
	fonts-adf-accanthis fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius fonts-adf-ikarius fonts-adf-irianis \
	fonts-adf-libris fonts-adf-mekanus fonts-adf-oldania fonts-adf-romande fonts-adf-solothurn fonts-adf-switzera \
	fonts-adf-tribun fonts-adf-universalis fonts-adf-verana fonts-averia-gwf fonts-averia-sans-gwf \
	fonts-averia-serif-gwf fonts-bajaderka fonts-beteckna fonts-cabin fonts-cabinsketch fonts-comfortaa \
	fonts-dancingscript fonts-dosis fonts-humor-sans fonts-inter fonts-jura fonts-karla fonts-kaushanscript \
	fonts-league-spartan fonts-leckerli-one fonts-lobster fonts-lobstertwo fonts-manrope fonts-oldstandard \
	fonts-play fonts-quattrocento fonts-rufscript fonts-staypuft fonts-tomsontalks fonts-sil-andika \
	fonts-deva fonts-lohit-deva fonts-nanum fonts-unfonts-core fonts-baekmuk libfribidi0
# Word lists of the languages the synthetic text draws from (Latin: textlens/data/synth/languages.py,
# docs/synthetic-data.md; Devanagari and Korean: textlens/data/synth/scripts.py, docs/languages.md): only training
# needs them (~144 MiB), so `make test` does not install them.
LANG_PACKAGES := wfrench wngerman wspanish witalian wportuguese wdutch wpolish wswedish wdanish wnorwegian \
	hunspell-cs hunspell-sk hunspell-hu hunspell-ro hunspell-tr hunspell-hi hunspell-ne aspell-mr hunspell-ko
# Photographs and wallpapers without text for the scene_photo pages (textlens/data/synth/backgrounds.py,
# docs/synthetic-data.md): only training and recipes/scene_photo_sheet.py need them (~240 MiB), not `make test`.
SCENE_PACKAGES := gnome-backgrounds mate-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers \
	mypaint-data-extras sway-backgrounds
# The clean-print and accented-lines benchmarks (recipes/prepare_clean_print.py, recipes/prepare_accented_lines.py,
# bench/README.md): groff renders manual pages to PDF, Tesseract reads each page or line with its language's pack.
# Only `make bench` installs them.
BENCH_PACKAGES := groff tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por tesseract-ocr-nld tesseract-ocr-ron \
	tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-pol tesseract-ocr-ces tesseract-ocr-slk tesseract-ocr-hun \
	tesseract-ocr-tur tesseract-ocr-swe tesseract-ocr-dan tesseract-ocr-nor tesseract-ocr-fin tesseract-ocr-hin \
	tesseract-ocr-kor
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench lint format system-deps lang-deps scene-deps clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# The core install: inference on onnxruntime, no torch.
$(VENV)/.core-installed: pyproject.toml constraints.txt | $(PY)
	cmd='$(PIP) install -c constraints.txt -e .'; $(RETRY)
	touch $@

# Everything the tests need: training (torch pinned by constraints.txt), dev tools.
$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(PY)
	cmd='$(PIP) install -c constraints.txt -e ".[train,dev]"'; $(RETRY)
	touch $@ $(VENV)/.core-installed

$(VENV)/.bench-installed: $(VENV)/.dev-installed
	cmd='$(PIP) install -c constraints.txt -e ".[train,dev,bench]"'; $(RETRY)
	touch $@

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

lang-deps:
	@missing=$$(for p in $(LANG_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing word lists: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

scene-deps:
	@missing=$$(for p in $(SCENE_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing background pictures: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

demo: $(VENV)/.core-installed
	bash examples/demo.sh

test: system-deps $(VENV)/.dev-installed
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} $(VENV)/bin/pytest

# The accented-lines set needs only the installed message catalogs and fonts: built here when missing (~20 s).
bench: system-deps $(VENV)/.bench-installed
	@missing=$$(for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	[ -f runs/accented-lines/manifest.jsonl ] || $(PY) recipes/prepare_accented_lines.py
	$(PY) -m bench.run $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check textlens tests bench recipes

format: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format textlens tests bench recipes

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
