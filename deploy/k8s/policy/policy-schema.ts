// The call policy's schema lives with the chassis, which enforces the policy on every call in embedded
// mode; the manifests' generators and checks read the same schema.
export {
  type CallPolicy,
  callPolicySchema,
  describePolicyIssues,
  grpcPackageOf,
  loadCallPolicy,
  spiffeIdOf,
} from '@mercato/chassis/call-policy';
