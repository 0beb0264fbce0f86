# Sourced by run-native.sh and run-deb.sh: lookup PORT sends one socketmap request as Postfix does
# (`postfix [127.0.0.1]`, which a daemon answers without DNS) over loopback TCP (bash's /dev/tcp) and prints the reply,
# or nothing; a daemon's "first answer" is the first time it prints something.
lookup() {
  local request='postfix [127.0.0.1]' reply=
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf '%d:%s,' "${#request}" "$request" >&3
  IFS= read -r -t 2 -d , reply <&3 || true
  exec 3<&-
  echo "$reply"
}
