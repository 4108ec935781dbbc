// Azure Managed Redis (Microsoft.Cache/redisEnterprise): the token buckets. Azure Cache for Redis takes no new caches
// any more, hence Managed Redis. Soft state, so no persistence and no geo-replication. No access keys: the app signs
// in with its user-assigned identity (Entra ID), whose object id is the Redis user name.
@description('Name of the cache.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the cache.')
param tags object

@description('Managed Redis SKU: Balanced_B0 (0.5 GB) in dev, Balanced_B1 (1 GB) in prod. The buckets are a few keys per provider and endpoint.')
@allowed([
  'Balanced_B0'
  'Balanced_B1'
  'Balanced_B3'
  'Balanced_B5'
])
param skuName string = 'Balanced_B0'

@description('Principal (object) id of the app\'s user-assigned identity: gets the "default" access policy on the database.')
param appPrincipalId string

@description('Public network access: Disabled when private networking is on (the app then reaches the cache through its private endpoint).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    // Entra ID only; the keys stay unusable, so there is nothing to put in Key Vault or an app setting.
    accessKeysAuthentication: 'Disabled'
    clientProtocol: 'Encrypted'
    port: 10000
    // NoCluster: one shard, no hash slots, so no script can ever fail with CROSSSLOT. Recon's token-bucket script
    // (RedisProviderRateLimiter) takes several keys in one EVAL; they share the {provider} hash tag and would also run
    // under EnterpriseCluster (single endpoint, same-slot keys only), but not if a key ever lost its tag. B0-B5 have a
    // single primary shard anyway, so clustering buys nothing here; NoCluster is the one policy that can later be
    // changed in place (to EnterpriseCluster, before growing past the 25 GB NoCluster limit), while OSSCluster and
    // EnterpriseCluster are fixed for the life of the database. OSSCluster is out: it needs the cluster-aware client
    // to reach per-shard ports (85xx) besides 10000.
    clusteringPolicy: 'NoCluster'
    // buckets and pause keys all carry a TTL; evict those first if memory ever runs out
    evictionPolicy: 'VolatileLRU'
  }
}

// The app's identity as a Redis user with the built-in "default" policy (the only one Managed Redis offers: all
// commands and keys). The assignment name allows letters and digits only.
resource appAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = {
  parent: database
  name: 'app${uniqueString(appPrincipalId)}'
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: appPrincipalId
    }
  }
}

output id string = cluster.id
output name string = cluster.name
output hostName string = cluster.properties.hostName
output port int = database.properties.port
