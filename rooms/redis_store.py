"""The room store in Redis: one hash per room, a set of revealed steps, a hash of votes per step, a sorted set of
members by last report; every key expires a day after its room. A vote is one Lua script: it lands only while its
step is unrevealed, atomically."""

DAY = 86400

_VOTE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIREAT', KEYS[2], ARGV[4])
return 1
"""


class RedisStore:
    def __init__(self, url: str):
        import redis

        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.r.ping()
        self._vote = self.r.register_script(_VOTE)

    @staticmethod
    def _k(code, part=""):
        return f"skiplab:room:{code}{part}"

    def _until(self, code) -> int:
        return int(float(self.r.hget(self._k(code), "expires") or 0)) + DAY

    def create(self, code, key_hash, steps, now, expires):
        k = self._k(code)
        if not self.r.hsetnx(k, "key_hash", key_hash):
            raise RuntimeError(f"room {code} exists already")
        self.r.hset(k, mapping=dict(steps=steps, step=1, expires=expires, closed=0))
        self.r.expireat(k, int(expires) + DAY)

    def room(self, code):
        h = self.r.hgetall(self._k(code))
        if not h:
            return None
        revealed = {int(s) for s in self.r.smembers(self._k(code, ":revealed"))}
        return dict(key_hash=h["key_hash"], steps=int(h["steps"]), step=int(h["step"]), expires=float(h["expires"]),
                    closed=h["closed"] == "1", revealed=revealed)

    def set_step(self, code, step):
        self.r.hset(self._k(code), "step", step)

    def add_reveal(self, code, step):
        k = self._k(code, ":revealed")
        self.r.sadd(k, step)
        self.r.expireat(k, self._until(code))

    def set_closed(self, code):
        self.r.hset(self._k(code), "closed", 1)

    def seen(self, code, session, nickname, now):
        k = self._k(code, ":members")
        self.r.zadd(k, {session: now})
        self.r.hset(self._k(code, ":nicknames"), session, nickname)
        self.r.expireat(k, self._until(code))
        self.r.expireat(self._k(code, ":nicknames"), self._until(code))

    def present(self, code, since):
        return self.r.zcount(self._k(code, ":members"), since, "+inf")

    def vote(self, code, session, step, choice, now) -> bool:
        keys = [self._k(code, ":revealed"), self._k(code, f":votes:{step}")]
        return self._vote(keys=keys, args=[step, session, choice, self._until(code)]) == 1

    def votes(self, code, step) -> dict:
        return self.r.hgetall(self._k(code, f":votes:{step}"))

    def hit(self, name, minute) -> int:
        k = f"skiplab:hits:{name}:{minute}"
        with self.r.pipeline() as p:
            p.incr(k)
            p.expire(k, 180)
            return p.execute()[0]
