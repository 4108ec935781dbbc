// dev: small and cheap. Connection budget: 10 instances x 10 activities x 1 connection = 100 <= 200 (max_client_conn).
using 'main.bicep'

param environmentName = 'dev'
param location = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param postgresAdminPassword = readEnvironmentVariable('POSTGRES_ADMIN_PASSWORD', '')
param stripeApiKey = readEnvironmentVariable('STRIPE_API_KEY', '')
param plaidClientId = readEnvironmentVariable('PLAID_CLIENT_ID', '')
param plaidSecret = readEnvironmentVariable('PLAID_SECRET', '')
param bankACredential = readEnvironmentVariable('BANK_A_CREDENTIAL', '')
param bankBCredential = readEnvironmentVariable('BANK_B_CREDENTIAL', '')

param pgBouncerMaxClientConn = 200
param pgBouncerDefaultPoolSize = 20
param maxConcurrentActivityFunctions = 10
param dbConnectionsPerActivity = 1
param functionMaximumInstanceCount = 10
param redisSkuName = 'Basic'
param storageSkuName = 'Standard_LRS'
param keyVaultPurgeProtection = false
