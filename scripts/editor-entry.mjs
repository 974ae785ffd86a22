// The browser editor's bundle (built by `npm run vendor` with esbuild into
// web/static/vendor/editor/): bpmn-js's Modeler with the properties panel and the Camunda 7
// moddle, bpmnlint's recommended rules, and dmn-js's Modeler. It exposes
// window.BridgeflowEditor; web/static/js/editor.js drives the page.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import lintModule from 'bpmn-js-bpmnlint';
import StaticResolver from 'bpmnlint/lib/resolver/static-resolver';
import recommended from 'bpmnlint/config/recommended';
import DmnModeler from 'dmn-js/lib/Modeler';

import rule_ad_hoc_sub_process from 'bpmnlint/rules/ad-hoc-sub-process';
import rule_conditional_flows from 'bpmnlint/rules/conditional-flows';
import rule_end_event_required from 'bpmnlint/rules/end-event-required';
import rule_event_based_gateway from 'bpmnlint/rules/event-based-gateway';
import rule_event_sub_process_typed_start_event from 'bpmnlint/rules/event-sub-process-typed-start-event';
import rule_fake_join from 'bpmnlint/rules/fake-join';
import rule_global from 'bpmnlint/rules/global';
import rule_label_required from 'bpmnlint/rules/label-required';
import rule_link_event from 'bpmnlint/rules/link-event';
import rule_no_bpmndi from 'bpmnlint/rules/no-bpmndi';
import rule_no_complex_gateway from 'bpmnlint/rules/no-complex-gateway';
import rule_no_disconnected from 'bpmnlint/rules/no-disconnected';
import rule_no_duplicate_sequence_flows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import rule_no_gateway_join_fork from 'bpmnlint/rules/no-gateway-join-fork';
import rule_no_implicit_split from 'bpmnlint/rules/no-implicit-split';
import rule_no_implicit_end from 'bpmnlint/rules/no-implicit-end';
import rule_no_implicit_start from 'bpmnlint/rules/no-implicit-start';
import rule_no_inclusive_gateway from 'bpmnlint/rules/no-inclusive-gateway';
import rule_no_overlapping_elements from 'bpmnlint/rules/no-overlapping-elements';
import rule_single_blank_start_event from 'bpmnlint/rules/single-blank-start-event';
import rule_single_event_definition from 'bpmnlint/rules/single-event-definition';
import rule_start_event_required from 'bpmnlint/rules/start-event-required';
import rule_sub_process_blank_start_event from 'bpmnlint/rules/sub-process-blank-start-event';
import rule_superfluous_gateway from 'bpmnlint/rules/superfluous-gateway';
import rule_superfluous_label from 'bpmnlint/rules/superfluous-label';
import rule_superfluous_termination from 'bpmnlint/rules/superfluous-termination';

const RULES = {
  'rule:bpmnlint/ad-hoc-sub-process': rule_ad_hoc_sub_process,
  'rule:bpmnlint/conditional-flows': rule_conditional_flows,
  'rule:bpmnlint/end-event-required': rule_end_event_required,
  'rule:bpmnlint/event-based-gateway': rule_event_based_gateway,
  'rule:bpmnlint/event-sub-process-typed-start-event': rule_event_sub_process_typed_start_event,
  'rule:bpmnlint/fake-join': rule_fake_join,
  'rule:bpmnlint/global': rule_global,
  'rule:bpmnlint/label-required': rule_label_required,
  'rule:bpmnlint/link-event': rule_link_event,
  'rule:bpmnlint/no-bpmndi': rule_no_bpmndi,
  'rule:bpmnlint/no-complex-gateway': rule_no_complex_gateway,
  'rule:bpmnlint/no-disconnected': rule_no_disconnected,
  'rule:bpmnlint/no-duplicate-sequence-flows': rule_no_duplicate_sequence_flows,
  'rule:bpmnlint/no-gateway-join-fork': rule_no_gateway_join_fork,
  'rule:bpmnlint/no-implicit-split': rule_no_implicit_split,
  'rule:bpmnlint/no-implicit-end': rule_no_implicit_end,
  'rule:bpmnlint/no-implicit-start': rule_no_implicit_start,
  'rule:bpmnlint/no-inclusive-gateway': rule_no_inclusive_gateway,
  'rule:bpmnlint/no-overlapping-elements': rule_no_overlapping_elements,
  'rule:bpmnlint/single-blank-start-event': rule_single_blank_start_event,
  'rule:bpmnlint/single-event-definition': rule_single_event_definition,
  'rule:bpmnlint/start-event-required': rule_start_event_required,
  'rule:bpmnlint/sub-process-blank-start-event': rule_sub_process_blank_start_event,
  'rule:bpmnlint/superfluous-gateway': rule_superfluous_gateway,
  'rule:bpmnlint/superfluous-label': rule_superfluous_label,
  'rule:bpmnlint/superfluous-termination': rule_superfluous_termination,
  'config:bpmnlint/recommended': recommended
};

const LINT = {
  config: { extends: 'bpmnlint:recommended' },
  resolver: new StaticResolver(RULES)
};

function bpmn(container, panel) {
  return new BpmnModeler({
    container: container,
    propertiesPanel: { parent: panel },
    linting: { bpmnlint: LINT, active: true },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      lintModule
    ],
    moddleExtensions: { camunda: camundaModdle }
  });
}

function dmn(container) {
  return new DmnModeler({ container: container });
}

window.BridgeflowEditor = { bpmn: bpmn, dmn: dmn };
