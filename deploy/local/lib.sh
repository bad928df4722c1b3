# Sourced by the ensure-*.sh scripts: whether a local TCP port answers, and how to run a command as root.
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
