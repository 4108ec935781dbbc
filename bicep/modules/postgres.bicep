// PostgreSQL Flexible Server with its built-in PgBouncer (port 6432) in transaction mode. Recon always connects
// through PgBouncer: the server then holds at most `pgBouncerDefaultPoolSize` connections for the recon database,
// however many Function instances are running (DESIGN.md: "500+ connections -> a steady 50").
@description('Name of the flexible server.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the server.')
param tags object

@description('Name of the app\'s user-assigned identity: the Entra administrator\'s principal name, which is also the PostgreSQL role and the user name in the app\'s connection string.')
param appIdentityName string

@description('Principal (object) id of that identity.')
param appPrincipalId string

@description('Optional second Entra administrator, a person or group for migrations and troubleshooting (azd: AZURE_PRINCIPAL_ID); empty for none.')
param adminPrincipalId string = ''

@description('Its principal type.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param adminPrincipalType string = 'User'

@description('Its PostgreSQL role name, the user name it signs in with (a user\'s UPN, say); empty uses the object id.')
param adminPrincipalName string = ''

@description('Public network access: Disabled when private networking is on (the app then connects through the private endpoint).')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Compute size. The built-in PgBouncer needs General Purpose or Memory Optimized, not Burstable.')
param skuName string = 'Standard_D2ds_v5'

@description('Compute tier matching skuName.')
@allowed([
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string = 'GeneralPurpose'

@description('Storage size in GiB.')
param storageSizeGB int = 32

@description('PgBouncer max_client_conn: client connections PgBouncer accepts. The connection budget of main.bicep must fit in it.')
@minValue(1)
@maxValue(5000)
param pgBouncerMaxClientConn int

@description('PgBouncer default_pool_size: server connections per user and database, the steady number PostgreSQL sees.')
@minValue(1)
param pgBouncerDefaultPoolSize int

@description('Name of the application database.')
param databaseName string = 'recon'

@description('Log Analytics workspace that receives the server metrics (connections, PgBouncer pools) for the workbook.')
param workspaceId string

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: '16'
    // Entra ID only: no password exists anywhere (the app presents a token for its identity as the password, and
    // the built-in PgBouncer passes Entra sign-ins through).
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: publicNetworkAccess
    }
  }

  resource database 'databases' = {
    name: databaseName
    properties: {
      charset: 'UTF8'
      collation: 'en_US.utf8'
    }
  }
}

// The app's identity is an Entra administrator: it signs in as the role named after the identity, with a token as the
// password. The resource name is the principal's object id.
resource appAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: appPrincipalId
  properties: {
    principalName: appIdentityName
    principalType: 'ServicePrincipal'
    tenantId: tenant().tenantId
  }
}

// One administrator change at a time: the server refuses concurrent updates, hence the dependsOn.
resource humanAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = if (!empty(adminPrincipalId)) {
  parent: server
  // ARM checks the name even when the condition is false, and an empty last segment fails that check
  name: empty(adminPrincipalId) ? 'none' : adminPrincipalId
  properties: {
    principalName: empty(adminPrincipalName) ? adminPrincipalId : adminPrincipalName
    principalType: adminPrincipalType
    tenantId: tenant().tenantId
  }
  dependsOn: [
    appAdmin
  ]
}

// Public access only: Flex Consumption apps without a virtual network have no fixed outbound addresses, so the
// server has to admit Azure's (0.0.0.0 is the service's "Allow Azure services" rule). Sign-in still needs an Entra
// token for an administrator. With private networking there is no firewall rule at all: public access is disabled
// and the app comes through the private endpoint.
resource allowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (publicNetworkAccess == 'Enabled') {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
  dependsOn: [
    humanAdmin
  ]
}

// Server parameters. The service refuses concurrent updates, hence batchSize(1) and, before them, the administrators
// and the firewall rule.
var serverParameters = [
  { name: 'pgbouncer.enabled', value: 'true' }
  // transaction mode: a server connection is lent for one transaction, so Recon sets Max Auto Prepare=0 and
  // No Reset On Close=true and keeps no session state (README, "Configuration").
  { name: 'pgbouncer.pool_mode', value: 'TRANSACTION' }
  { name: 'pgbouncer.default_pool_size', value: string(pgBouncerDefaultPoolSize) }
  { name: 'pgbouncer.max_client_conn', value: string(pgBouncerMaxClientConn) }
  // PgBouncer's pool metrics (server_connections_active, client_connections_waiting) for the workbook.
  { name: 'metrics.pgbouncer_diagnostics', value: 'on' }
]

@batchSize(1)
resource parameters 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = [
  for p in serverParameters: {
    parent: server
    name: p.name
    properties: {
      value: p.value
      source: 'user-override'
    }
    dependsOn: [
      appAdmin
      humanAdmin
      allowAzure
    ]
  }
]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: server
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = server.id
output name string = server.name
output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
output databaseName string = server::database.name
// The built-in PgBouncer listens on 6432 on the same host name.
output pgBouncerPort int = 6432
