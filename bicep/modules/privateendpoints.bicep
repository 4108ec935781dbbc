// Private endpoints (privateNetworking = true): one per service and sub-resource the app talks to, each registering
// its address in the matching private DNS zone, so the public host names the app is configured with resolve to the
// private addresses from inside the network while the services refuse public traffic.
@description('Azure region.')
param location string

@description('Tags applied to the endpoints.')
param tags object

@description('Subnet the endpoints take their addresses from.')
param subnetId string

@description('Prefix of the endpoint names.')
param namePrefix string

@description('The endpoints: { name, serviceId, groupId, dnsZoneId } each (groupId is the private-link sub-resource: postgresqlServer, redisEnterprise, blob, queue, table, vault).')
param endpoints array

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for e in endpoints: {
    name: '${namePrefix}-${e.name}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: subnetId
      }
      privateLinkServiceConnections: [
        {
          name: e.name
          properties: {
            privateLinkServiceId: e.serviceId
            groupIds: [
              e.groupId
            ]
          }
        }
      ]
    }
  }
]

resource dnsGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (e, i) in endpoints: {
    parent: endpoint[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: e.name
          properties: {
            privateDnsZoneId: e.dnsZoneId
          }
        }
      ]
    }
  }
]
