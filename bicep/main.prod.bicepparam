// prod: the spike configuration, private networking. Connection budget: 100 instances x 10 activities x 1 connection
// = 1000 <= 1000.
using 'main.bicep'

param environmentName = 'prod'
param location = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param privateNetworking = true
param stripeApiKey = readEnvironmentVariable('STRIPE_API_KEY', '')
param plaidClientId = readEnvironmentVariable('PLAID_CLIENT_ID', '')
param plaidSecret = readEnvironmentVariable('PLAID_SECRET', '')
param bankACredential = readEnvironmentVariable('BANK_A_CREDENTIAL', '')
param bankBCredential = readEnvironmentVariable('BANK_B_CREDENTIAL', '')
param bankABaseUrl = readEnvironmentVariable('BANK_A_BASE_URL', '')
param bankBBaseUrl = readEnvironmentVariable('BANK_B_BASE_URL', '')
param alertEmail = readEnvironmentVariable('RECON_ALERT_EMAIL', '')

param pgBouncerMaxClientConn = 1000
param pgBouncerDefaultPoolSize = 50
param maxConcurrentActivityFunctions = 10
param dbConnectionsPerActivity = 1
param functionMaximumInstanceCount = 100
param postgresSkuName = 'Standard_D4ds_v5'
param redisSkuName = 'Balanced_B1'
param storageSkuName = 'Standard_ZRS'
param keyVaultPurgeProtection = true
