// Placeholder door: the rules helper replaces this file. Signatures are the contract.
export {};
