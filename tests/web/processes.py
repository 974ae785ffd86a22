"""BPMN sources the web tests upload."""

from __future__ import annotations

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" '
        'targetNamespace="http://bridgeflow.dev/test">\n')


def approval(extra_script: str = "approved_by = 'x'") -> bytes:
    """A process with one user task for group ``finance`` and a script after it."""
    return (HEAD + f"""
  <bpmn:process id="approval" name="Approval" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="finance">
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="after" name="After" scriptFormat="python">
      <bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:script>{extra_script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="b" sourceRef="approve" targetRef="after"/>
    <bpmn:sequenceFlow id="c" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""").encode()


def waits_for_message() -> bytes:
    """A process that waits for message ``paid`` and then ends."""
    return (HEAD + """
  <bpmn:message id="msg_paid" name="paid"/>
  <bpmn:process id="payment" name="Payment" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_paid">
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="msg_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="wait_paid"/>
    <bpmn:sequenceFlow id="b" sourceRef="wait_paid" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""").encode()
