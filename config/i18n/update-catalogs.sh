#!/bin/sh
# Re-extract every translatable string and merge it into the catalogs; then check them.
#   config/i18n/update-catalogs.sh        (from anywhere; uses the checkout's .venv)
# New strings appear with an empty msgstr in zh_Hans/ko: translate them, run this again,
# and the compile step reports what is still untranslated. English needs no msgstr.
set -eu
cd "$(dirname "$0")/../.."
pybabel=${PYBABEL:-.venv/bin/pybabel}
# no source locations and sorted output: a code edit that moves a string changes nothing here
$pybabel extract -F config/i18n/babel.cfg -k tr -k ntr:1,2 -k N_ --no-location --sort-output \
  --project=kiosk --version=0.1.0 --copyright-holder="kiosk contributors" \
  --msgid-bugs-address=" " -o config/i18n/kiosk.pot .
for locale in en zh_Hans ko; do
  po=config/i18n/$locale/LC_MESSAGES/kiosk.po
  if [ -f "$po" ]; then
    $pybabel update -i config/i18n/kiosk.pot -o "$po" -l "$locale" --no-fuzzy-matching \
      --ignore-obsolete
  else
    $pybabel init -i config/i18n/kiosk.pot -o "$po" -l "$locale"
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for locale in zh_Hans ko; do   # compile (into a scratch folder) to report coverage
  $pybabel compile -i "config/i18n/$locale/LC_MESSAGES/kiosk.po" -o "$tmp/$locale.mo" \
    -l "$locale" --statistics
done
# The voice domain (spoken prompts: V_ marks in voice/ and kiosk/services/voice/), kept apart
# from the screens' catalog.
$pybabel extract -F config/i18n/babel-voice.cfg --no-default-keywords -k V_ --no-location \
  --sort-output --project=kiosk --version=0.1.0 --copyright-holder="kiosk contributors" \
  --msgid-bugs-address=" " -o config/i18n/voice.pot voice kiosk/services/voice
for locale in en zh_Hans ko; do
  po=config/i18n/$locale/LC_MESSAGES/voice.po
  if [ -f "$po" ]; then
    $pybabel update -D voice -i config/i18n/voice.pot -o "$po" -l "$locale" --no-fuzzy-matching \
      --ignore-obsolete
  else
    $pybabel init -D voice -i config/i18n/voice.pot -o "$po" -l "$locale"
  fi
done
for locale in zh_Hans ko; do
  $pybabel compile -D voice -i "config/i18n/$locale/LC_MESSAGES/voice.po" \
    -o "$tmp/voice-$locale.mo" -l "$locale" --statistics
done
