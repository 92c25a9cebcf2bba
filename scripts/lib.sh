# Shared by the load and benchmark scripts (sourced, not run). After `cd` to the repository:
#   build_release          builds target/release/sigillo and sets $bin
#   start_service ARGS...  starts `sigillo serve ARGS` on 127.0.0.1:0 with a fresh data
#                          directory under $work (made here, removed on exit), waits until it
#                          listens, and sets $server (its pid) and $url; $listen, if set,
#                          replaces 127.0.0.1:0. Exports SIGILLO_TOKEN, the operator's
#                          token, which `sigillo stamp` and `sigillo bench` send.
build_release() {
  cargo build --locked --release --bin sigillo
  bin="$PWD/target/release/sigillo"
}

start_service() {
  work="${work:-$(mktemp -d)}"
  trap 'kill ${server:-} ${extra_pids:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
  RUST_LOG=warn "$bin" serve --data "$work/data" --did-docs "$work/did-docs" --listen "${listen:-127.0.0.1:0}" "$@" > "$work/serve.out" &
  server=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  url="$(sed -n 's/^sigillo listening on //p' "$work/serve.out")"
  [ -n "$url" ] || { echo "the service did not start" >&2; cat "$work/serve.out" >&2; exit 1; }
  SIGILLO_TOKEN="$(awk '$1 == "operator" {print $2}' "$work/data/access/new-tokens.txt")"
  export SIGILLO_TOKEN
}
