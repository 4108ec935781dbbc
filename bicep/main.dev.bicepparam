// dev: small and cheap, public endpoints (Entra sign-in only). Connection budget: 40 instances x 10 activities x
// 1 connection = 400 <= 400 (max_client_conn); 40 is the lowest instance cap every region accepts.
using 'main.bicep'

param environmentName = 'dev'
param location = readEnvironmentVariable('AZURE_LOCATION', 'eastus2')
param privateNetworking = false
param stripeApiKey = readEnvironmentVariable('STRIPE_API_KEY', '')
param plaidClientId = readEnvironmentVariable('PLAID_CLIENT_ID', '')
param plaidSecret = readEnvironmentVariable('PLAID_SECRET', '')
param bankACredential = readEnvironmentVariable('BANK_A_CREDENTIAL', '')
param bankBCredential = readEnvironmentVariable('BANK_B_CREDENTIAL', '')
param bankABaseUrl = readEnvironmentVariable('BANK_A_BASE_URL', '')
param bankBBaseUrl = readEnvironmentVariable('BANK_B_BASE_URL', '')

param pgBouncerMaxClientConn = 400
param pgBouncerDefaultPoolSize = 20
param maxConcurrentActivityFunctions = 10
param dbConnectionsPerActivity = 1
param functionMaximumInstanceCount = 40
param redisSkuName = 'Balanced_B0'
param storageSkuName = 'Standard_LRS'
param keyVaultPurgeProtection = false
