# Sourced by test scripts that start something which must not outlive the test
# (a PostgreSQL server, a Slurm cluster). ctest's timeout kills a test with
# SIGKILL, and a shell's EXIT trap does not run then.

# alive PID: whether process PID runs. A zombie counts as gone: its parent may
# never reap it.
alive() { local s; s=$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "${s:0:1}" != Z ]; }

# watch_owner OWNER TOKEN CMD...: writes OWNER into the file TOKEN and leaves
# a detached watchdog that runs CMD once process OWNER is gone, if TOKEN still
# names OWNER then. It looks every second, and ends without running CMD once
# TOKEN no longer names OWNER: the owner cleaned up itself (removed TOKEN), or
# a later owner took over. setsid and no inherited descriptors: ctest waits
# for a test's output pipes to close, and this outlives the test. Started from
# a subshell, so that it is no child of the caller's: a test's plain `wait`
# for its own background jobs would otherwise wait for it too.
watch_owner() {
  local owner=$1 token=$2
  shift 2
  echo "$owner" >"$token"
  (setsid bash -c "$(declare -f alive)"'
    mine() { [ "$(cat "$2" 2>/dev/null)" = "$1" ]; }
    while alive "$1"; do mine "$@" || exit 0; sleep 1; done
    mine "$@" || exit 0
    shift 2
    exec "$@"' watch_owner "$owner" "$token" "$@" </dev/null >/dev/null 2>&1 &)
}
