# Sourced by the interop set-up scripts: `SUDO` (empty as root, else sudo when
# present) and `apt_retry ARGS…`, apt-get that waits for the dpkg/apt locks
# (another apt may be running) and retries. The sourcing script defines log().
SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_retry() {
    local try
    for try in $(seq 1 60); do
        if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get \
            -o DPkg::Lock::Timeout=120 -o Acquire::Retries=3 "$@"; then
            return 0
        fi
        log "apt-get $* failed (try $try); waiting for the dpkg lock and retrying"
        sleep 10
    done
    log "apt-get $* kept failing"
    return 1
}
