import { AnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import { Cluster } from '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** A model class of the kubernetes-models packages: built from an object, validated against its schema. */
export type SchemaModel = new (data: never) => { validate(): void };

/**
 * Which schema checks which kind, by `apiVersion/kind`, and from which package. A rendered object of
 * any other kind fails the test: every kind the manifests use has a schema here.
 */
export const schemaModels: ReadonlyMap<string, { model: SchemaModel; source: string }> = new Map(
  (
    [
      ['v1/Namespace', Namespace, 'kubernetes-models'],
      ['v1/ConfigMap', ConfigMap, 'kubernetes-models'],
      ['v1/Secret', Secret, 'kubernetes-models'],
      ['v1/Service', Service, 'kubernetes-models'],
      ['v1/ServiceAccount', ServiceAccount, 'kubernetes-models'],
      ['apps/v1/Deployment', Deployment, 'kubernetes-models'],
      ['apps/v1/StatefulSet', StatefulSet, 'kubernetes-models'],
      ['autoscaling/v2/HorizontalPodAutoscaler', HorizontalPodAutoscaler, 'kubernetes-models'],
      ['policy/v1/PodDisruptionBudget', PodDisruptionBudget, 'kubernetes-models'],
      ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy, 'kubernetes-models'],
      ['postgresql.cnpg.io/v1/Cluster', Cluster, '@kubernetes-models/cloudnative-pg'],
      ['gateway.networking.k8s.io/v1/Gateway', Gateway, '@kubernetes-models/gateway-api'],
      ['gateway.networking.k8s.io/v1/HTTPRoute', HTTPRoute, '@kubernetes-models/gateway-api'],
      ['security.istio.io/v1/AuthorizationPolicy', AuthorizationPolicy, '@kubernetes-models/istio'],
      ['security.istio.io/v1beta1/PeerAuthentication', PeerAuthentication, '@kubernetes-models/istio'],
      ['networking.istio.io/v1beta1/DestinationRule', DestinationRule, '@kubernetes-models/istio'],
      ['networking.istio.io/v1beta1/VirtualService', VirtualService, '@kubernetes-models/istio'],
      ['argoproj.io/v1alpha1/Rollout', Rollout, '@kubernetes-models/argo-rollouts'],
      ['argoproj.io/v1alpha1/AnalysisTemplate', AnalysisTemplate, '@kubernetes-models/argo-rollouts'],
    ] as const
  ).map(([type, model, source]) => [type, { model: model as SchemaModel, source }]),
);
