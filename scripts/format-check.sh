#!/usr/bin/env bash
# `make format-check`: swift-format's lint rules (configuration: .swift-format) and a 140-character
# line limit over every Swift file of the package and its examples, with no file exempt. swift-format's
# layout findings (indentation, line breaks, spacing, trailing commas) are reported by its pretty
# printer, which the code's dense style (short bodies on one line) does not follow; they are not
# enforced here.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
limit=140
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.swift' | while read -r f; do
    [ -f "$f" ] && echo "$f"; done)

status=0
findings=$("$SWIFT" format lint --configuration .swift-format "${files[@]}" 2>&1 \
    | grep -vE '\[(Indentation|AddLines|RemoveLine|Spacing|LineLength|TrailingComma)\]' || true)
if [ -n "$findings" ]; then
    echo "$findings" >&2
    echo "format-check: swift-format rule findings above (configuration .swift-format)" >&2
    status=1
fi

# Every Swift file, no exemptions.
long=$(for f in "${files[@]}"; do
    awk -v limit=$limit -v f="$f" 'length($0) > limit { printf "%s:%d: %d characters\n", f, FNR, length($0) }' "$f"
done)
if [ -n "$long" ]; then
    echo "$long" >&2
    echo "format-check: lines longer than $limit characters above" >&2
    status=1
fi
[ $status = 0 ] && echo "format-check: ${#files[@]} files pass (.swift-format rules, lines ≤ $limit)"
exit $status
