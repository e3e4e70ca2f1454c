// The private Redis Cluster of the tests (3 masters + 3 replicas). The code lives beside the Redis
// examples, whose cluster example starts one the same way; the tests import it from here.
export {
  type ClusterNodeProcess,
  failoverClusterOptions,
  type RedisCluster,
  startRedisCluster,
} from '../../examples/redis/local-cluster';
