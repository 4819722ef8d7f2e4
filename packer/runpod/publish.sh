#!/usr/bin/env bash
# Publishes packer/runpod/template.json as a Runpod Pod template with Runpod's GraphQL API (saveTemplate).
#
# Usage: packer/runpod/publish.sh [--image REF] [--name NAME] [--update TEMPLATE_ID] [--dry-run]
#
#   --image REF    the image to run (default: template.json's imageName), e.g. your own registry's build of it
#   --name NAME    the template's name (default: template.json's name); names are unique per account
#   --update ID    change the existing template ID instead of creating one
#   --dry-run      print the request body (no API key needed, nothing is sent)
#
# Environment: RUNPOD_API_KEY (Runpod console > Settings > API Keys). It travels in curl's configuration on
# standard input, never on a command line. Prints the template's id.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/template.json"
endpoint="${RUNPOD_GRAPHQL_URL:-https://api.runpod.io/graphql}"

die() { printf 'publish: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

image="" name="" id="" dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --image) [[ $# -ge 2 ]] || die "--image needs a value"; image="$2"; shift ;;
    --name) [[ $# -ge 2 ]] || die "--name needs a value"; name="$2"; shift ;;
    --update) [[ $# -ge 2 ]] || die "--update needs a template id"; id="$2"; shift ;;
    --dry-run) dry_run=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

command -v jq >/dev/null || die "jq is not installed"
[[ -f "$template" ]] || die "$template is missing"

# Asks back the fields that Runpod's documentation shows for saveTemplate.
# shellcheck disable=SC2016 # GraphQL variables, not shell ones
query='mutation SaveTemplate($input: SaveTemplateInput!) { saveTemplate(input: $input) { id name imageName ports volumeMountPath } }'
body="$(jq -c --arg query "$query" --arg image "$image" --arg name "$name" --arg id "$id" '
  . as $t
  | ($t + (if $image != "" then {imageName: $image} else {} end)
        + (if $name != "" then {name: $name} else {} end)
        + (if $id != "" then {id: $id} else {} end)) as $input
  | {query: $query, variables: {input: $input}}' "$template")"

if [[ $dry_run -eq 1 ]]; then
  printf '%s\n' "$body" | jq .
  exit 0
fi

[[ -n "${RUNPOD_API_KEY:-}" ]] || die "set RUNPOD_API_KEY (Runpod console > Settings > API Keys)"
command -v curl >/dev/null || die "curl is not installed"

answer="$(printf 'url = "%s?api_key=%s"\n' "$endpoint" "$RUNPOD_API_KEY" |
  curl --config - --silent --show-error --fail-with-body --proto '=https' \
    --header 'Content-Type: application/json' --data-binary "$body")" || die "the API answered: ${answer:-nothing}"
if jq -e '.errors | length > 0' >/dev/null 2>&1 <<<"$answer"; then
  die "saveTemplate failed: $(jq -c '.errors' <<<"$answer")"
fi
jq -e -r '.data.saveTemplate | "template \(.id): \(.name) (\(.imageName), ports \(.ports), volume at \(.volumeMountPath))"' \
  <<<"$answer" >&2 || die "unexpected answer: $answer"
jq -r '.data.saveTemplate.id' <<<"$answer"
