/**
 * The pollers reach an MSK cluster through network interfaces in its VPC, created with the
 * function's role. These EC2 calls have no resource-level scoping (Describe*) or would need the
 * cluster's subnets and security groups, which the stack does not know: Resource "*" is the
 * AWSLambdaMSKExecutionRole's own choice, kept to exactly these actions.
 */
export const MSK_VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
];
