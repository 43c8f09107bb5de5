//! The Lua scripts that make a read-compare-write one atomic step on the Redis server.

use std::sync::LazyLock;

use redis::Script;

/// Newer-wins write of a directory's value.
///
/// `KEYS[1]` the directory key; `ARGV[1]` the value; `ARGV[2]` its PX in milliseconds;
/// `ARGV[3]` the magic bytes. Reads only the first 21 bytes of the stored value (magic,
/// version, flags, `checked_at`): the offsets of the magic and `checked_at` are the same in
/// every format version. A stored value of ours with a later `checked_at` is kept and returned
/// whole (so that the writer can answer with it without another round trip); anything else —
/// nothing, an older or equal copy, a foreign or damaged value, a key of another type — is
/// replaced (returns 1). `checked_at` has 15 decimal digits, which a Lua
/// number (a double) holds exactly.
pub(crate) static PUT_NEWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local head = redis.pcall('GETRANGE', KEYS[1], 0, 20)
if type(head) == 'string' and string.len(head) == 21 and string.sub(head, 1, 4) == ARGV[3] then
  local stored = string.sub(head, 7, 21)
  local incoming = string.sub(ARGV[1], 7, 21)
  if string.match(stored, '^%d+$') and tonumber(stored) > tonumber(incoming) then
    return redis.call('GET', KEYS[1])
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
",
    )
});

/// Compare-and-delete of a refresh lock, announcing the release.
///
/// `KEYS[1]` the lock key; `ARGV[1]` the holder's token; `ARGV[2]` the release channel;
/// `ARGV[3]` the directory id. Returns 1 when the token held the lock (now released), else 0.
pub(crate) static RELEASE_LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
",
    )
});

/// Compare-and-pexpire of a refresh lock.
///
/// `KEYS[1]` the lock key; `ARGV[1]` the holder's token; `ARGV[2]` the new lease in
/// milliseconds. Returns 1 when the token still held the lock (now extended), else 0.
pub(crate) static EXTEND_LOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});
