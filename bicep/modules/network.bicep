// Private networking (privateNetworking = true): one virtual network with a subnet the Function App joins (Flex
// Consumption VNet integration) and a subnet for the private endpoints of PostgreSQL, Managed Redis, storage and Key
// Vault, plus the private DNS zones that make their public host names resolve to those endpoints inside the network.
@description('Name of the virtual network.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the network and the DNS zones.')
param tags object

@description('Address space of the network.')
param addressPrefix string = '10.40.0.0/16'

@description('Subnet the Function App integrates with. Every running instance of every function group takes one address, so /23 (507 usable) leaves room above the instance cap.')
param appSubnetPrefix string = '10.40.0.0/23'

@description('Subnet for the private endpoints (six today).')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

@description('Private DNS zones to create and link to the network, keyed by the name the endpoints use.')
param dnsZones object

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-app'
        properties: {
          addressPrefix: appSubnetPrefix
          // Flex Consumption runs on the Container Apps platform, so its integration subnet is delegated to
          // Microsoft.App/environments (not Microsoft.Web/serverFarms as for Premium and Dedicated plans).
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for z in items(dnsZones): {
    name: z.value
    location: 'global'
    tags: tags
  }
]

// Without the link the zone exists but the app's lookups inside the network still get the public addresses.
resource links 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (z, i) in items(dnsZones): {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: vnet.id
      }
    }
  }
]

output id string = vnet.id
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-app')
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, 'snet-private-endpoints')
// zone key -> zone resource id, for the endpoints' DNS zone groups
output dnsZoneIds object = toObject(items(dnsZones), z => z.key, z => resourceId('Microsoft.Network/privateDnsZones', z.value))
