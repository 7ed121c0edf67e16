# bash completion for ironlbctl (and kubectl-ironlb), installed with the binary into
# share/bash-completion/completions/. Objects and commands follow `ironlbctl --help`.
_ironlbctl() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
    }
    local opts="-j --json -p --pretty --api-socket --bpffs --node --all-nodes -n --namespace --kubeconfig --context -h --help"
    case $prev in
        --api-socket|--kubeconfig) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --bpffs) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --node) COMPREPLY=($(compgen -W "$(kubectl get nodes -o name 2>/dev/null | sed 's|^node/||')" -- "$cur")); return ;;
        -n|--namespace|--context) return ;;
    esac
    # The first two words that are not options are OBJECT and COMMAND.
    local i object="" verb="" nargs=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --api-socket|--bpffs|--node|-n|--namespace|--kubeconfig|--context) ((i++)) ;;
            -*) ;;
            *) if [[ -z $object ]]; then object=${words[i]}
               elif [[ -z $verb ]]; then verb=${words[i]}
               else ((nargs++)); fi ;;
        esac
    done
    if [[ -z $object ]]; then
        COMPREPLY=($(compgen -W "alloc backend bgp config conntrack convert explain iface l2 maglev stats vip help $opts" -- "$cur"))
        return
    fi
    if [[ -z $verb ]]; then
        case $object in
            alloc) COMPREPLY=($(compgen -W "show help" -- "$cur")) ;;
            backend|iface|vip) COMPREPLY=($(compgen -W "list help" -- "$cur")) ;;
            bgp) COMPREPLY=($(compgen -W "show help" -- "$cur")) ;;
            config) COMPREPLY=($(compgen -W "show check convert help" -- "$cur")) ;;
            conntrack) COMPREPLY=($(compgen -W "list help" -- "$cur")) ;;
            maglev) COMPREPLY=($(compgen -W "show help" -- "$cur")) ;;
            stats) COMPREPLY=($(compgen -W "--watch --count $opts" -- "$cur")) ;;
            convert) COMPREPLY=($(compgen -f -- "$cur")) ;;
        esac
        return
    fi
    case $object/$verb in
        config/check|config/convert) COMPREPLY=($(compgen -f -- "$cur")) ;;
        conntrack/list)
            case $prev in
                vip|backend|client|limit) ;;
                proto) COMPREPLY=($(compgen -W "tcp udp" -- "$cur")) ;;
                *) COMPREPLY=($(compgen -W "vip backend client proto limit $opts" -- "$cur")) ;;
            esac ;;
        stats/*) COMPREPLY=($(compgen -W "--watch --count $opts" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$opts" -- "$cur")) ;;
    esac
}
complete -F _ironlbctl ironlbctl kubectl-ironlb
