#!/usr/bin/env bash
# Writes each Secret file the demo overlay reads (<name>.env, git-ignored, mode 600) from its
# <name>.env.example, with every placeholder (<password>, <operator-read-token>) replaced by a
# random value of its own: 48 hex digits from /dev/urandom, safe in a URL as it is. A file that
# exists already is left as it is, so running it again keeps every password; to rotate one, delete
# its file, run this again and apply the overlay (README.md, "Secrets").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
umask 077

random() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

for example in *.env.example; do
  file=${example%.example}
  if [ -e "$file" ]; then
    echo "kept      $file"
    continue
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    # Comments stay as they are (notification-smtp's shows a URL's shape with placeholders).
    while [[ $line != \#* && $line =~ \<(password|operator-read-token)\> ]]; do
      line=${line/"${BASH_REMATCH[0]}"/$(random)}
    done
    printf '%s\n' "$line"
  done <"$example" >"$file"
  chmod 600 "$file"
  echo "generated $file"
done
