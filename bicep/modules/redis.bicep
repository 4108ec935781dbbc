// Azure Cache for Redis: the token buckets. Soft state, so no persistence and no geo-replication.
@description('Name of the cache.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the cache.')
param tags object

@description('Basic in dev (no SLA), Standard in prod (replicated).')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param skuName string = 'Basic'

@description('Size: 0 = 250 MB (C0), 1 = 1 GB (C1). Buckets are a few keys per provider and endpoint.')
@minValue(0)
@maxValue(6)
param capacity int = 0

resource redis 'Microsoft.Cache/redis@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: skuName == 'Premium' ? 'P' : 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisConfiguration: {
      // buckets carry a TTL; evict those first if memory ever runs out
      'maxmemory-policy': 'volatile-lru'
    }
  }
}

output id string = redis.id
output name string = redis.name
output hostName string = redis.properties.hostName
output sslPort int = redis.properties.sslPort
