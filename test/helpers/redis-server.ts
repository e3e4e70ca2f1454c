// The private redis-server of the tests. The code lives beside the Redis example, whose demo
// starts one the same way (so CI needs no Redis service); the tests import it from here.
export { type RedisServer, startRedisServer } from '../../examples/redis/local-redis';
