import { type IpvmError, parseWorkflow, planWorkflow } from '@ipvm/core'

const input = document.querySelector<HTMLTextAreaElement>('#workflow')!
const result = document.querySelector<HTMLDivElement>('#result')!

function cell (text: string): HTMLTableCellElement {
  const td = document.createElement('td')
  td.textContent = text
  return td
}

async function inspect (): Promise<void> {
  result.replaceChildren()
  try {
    const workflow = await parseWorkflow(input.value)
    const plan = planWorkflow(workflow)
    const heading = document.createElement('p')
    heading.innerHTML = 'workflow <code id="workflow-cid"></code>'
    heading.querySelector('code')!.textContent = workflow.cid.toString()
    const table = document.createElement('table')
    table.innerHTML = '<thead><tr><th>#</th><th>batch</th><th>function</th><th>instruction</th><th>awaits</th><th>external</th></tr></thead>'
    const body = document.createElement('tbody')
    for (const task of workflow.tasks) {
      const row = document.createElement('tr')
      row.dataset.index = String(task.index)
      const func = task.task.run.input.func
      row.append(cell(String(task.index)), cell(String(plan.depth[task.index])), cell(task.label ?? (typeof func === 'string' ? func : task.task.run.op)),
        cell(task.instruction.toString()), cell(task.dependencies.map((d) => `#${d}`).join(', ') || '-'), cell(task.external.map(String).join(', ') || '-'))
      body.append(row)
    }
    table.append(body)
    result.append(heading, table)
  } catch (err) {
    const p = document.createElement('p')
    p.className = 'error'
    p.textContent = `${(err as IpvmError).name}: ${(err as Error).message}`
    result.append(p)
  }
}

document.querySelector('#inspect')!.addEventListener('click', () => { void inspect() })
