#!/usr/bin/env bash
# Follows a connect link with curl as a browser would, clicking Allow (or
# Deny with DECISION=deny) on the local GoTo's consent page, and prints
# where the flow ends. Usage: scripts/curl-connect.sh "<connect link>"
set -euo pipefail
link=${1:?usage: $0 "<connect link printed by make run>"}
decision=${DECISION:-allow}
jar=$(mktemp); trap 'rm -f "$jar"' EXIT

# 1. The connector: check the link, set the binding cookie, redirect to GoTo.
consent=$(curl -sS -c "$jar" -o /dev/null -w '%{redirect_url}' "$link")
[ -n "$consent" ] || { echo "authorize did not redirect:"; curl -sS "$link"; exit 1; }
echo "authorize -> $(cut -d'?' -f1 <<<"$consent")"

# 2. GoTo's consent page: post its form with the decision.
page=$(curl -sS "$consent")
origin=$(grep -oE '^https?://[^/]+' <<<"$consent")
action=$(grep -oE '<form[^>]*action="[^"]*"' <<<"$page" | sed -E 's/.*action="([^"]*)".*/\1/')
args=()
while read -r name value; do
  args+=(--data-urlencode "$name=$value")
done < <(grep -oE '<input type="hidden" name="[^"]*" value="[^"]*"' <<<"$page" |
         sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1 \2/' | sed 's/&amp;/\&/g')
back=$(curl -sS -o /dev/null -w '%{redirect_url}' "${args[@]}" --data-urlencode "decision=$decision" "$origin$action")
echo "consent ($decision) -> $(cut -d'?' -f1 <<<"$back")"

# 3. The callback, with the cookie from step 1.
final=$(curl -sS -b "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' "$back")
echo "callback -> $final"
read -r code url <<<"$final"
if [ -n "$url" ]; then
  curl -sS "$url" | sed -n 's:.*<h1[^>]*>\(.*\)</h1>.*:\1:p; s:.*<p id="message">\(.*\)</p>.*:\1:p'
fi
